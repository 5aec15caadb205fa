// Demo data against a running service (`npm start`, then `npm run demo`): buyers and authors,
// deposits, purchases whose odd prices exercise the centi-cent carry, a refund that takes back
// exactly the royalty's centi-cents, an idempotent retry, a withdrawal that waits as a pending
// payout until it is paid, a refund the author can no longer cover (debt) repaid by a deposit, a
// payout the rail refuses whose money comes back, a purchase hold captured in part and one voided,
// a financial report, and copy-paste curl commands for every endpoint.
//
//   DEMO_BASE_URL  the service (default http://localhost:3000)
//   DEMO_ADMIN_ID  an admin user id (default the default PLATFORM_ACCOUNT_ID)
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { createClient } from '../client';

const BASE_URL = (process.env.DEMO_BASE_URL ?? 'http://localhost:3000').replace(/\/+$/, '');
const ADMIN_ID = process.env.DEMO_ADMIN_ID ?? '00000000-0000-4000-8000-000000000001';
/** The report is built by a worker; this bounds how long the demo waits for it. */
const REPORT_POLL_ATTEMPTS = 40;
const REPORT_POLL_INTERVAL_MS = 500;

const as = (userId: string) => createClient({ baseUrl: BASE_URL, headers: { 'X-User-Id': userId } });
const admin = as(ADMIN_ID);

function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}

function cents(amount: number): string {
  return `${amount} cents (${(amount / 100).toFixed(2)})`;
}

function fail(what: string, result: { status: number; problem: { code: string; detail: string } }): never {
  throw new Error(`${what}: ${result.status} ${result.problem.code} ${result.problem.detail}`);
}

interface Person {
  name: string;
  userId: string;
  walletId: string;
}

async function person(name: string, depositCents: number): Promise<Person> {
  const userId = randomUUID();
  const api = as(userId);
  const created = await api.request('post', '/wallets', {});
  if (!created.ok) fail(`create ${name}'s wallet`, created);
  const walletId = created.data.id;
  if (depositCents > 0) {
    const deposit = await api.request('post', '/wallets/{walletId}/deposit', {
      path: { walletId },
      body: { amount: depositCents },
    });
    if (!deposit.ok) fail(`fund ${name}`, deposit);
  }
  say(`  ${name.padEnd(7)} user ${userId}  wallet ${walletId}  deposited ${cents(depositCents)}`);
  return { name, userId, walletId };
}

async function buy(buyer: Person, author: Person, itemPrice: number, idempotencyKey = randomUUID()) {
  return as(buyer.userId).request('post', '/purchases', {
    header: { 'Idempotency-Key': idempotencyKey },
    body: { buyerWalletId: buyer.walletId, authorWalletId: author.walletId, itemPrice },
  });
}

async function wallet(owner: Person) {
  const result = await as(owner.userId).request('get', '/wallets/{walletId}', { path: { walletId: owner.walletId } });
  if (!result.ok) fail(`read ${owner.name}'s wallet`, result);
  return result.data;
}

/** The author's position in centi-cents (ADR 0017): what a refund lowers by exactly amount * royaltyPercent. */
function position(state: { balance: number; fractionalBalance: number; debt: number }): number {
  return 100 * (state.balance - state.debt) + state.fractionalBalance;
}

function describeWallet(state: { balance: number; fractionalBalance: number; debt: number }): string {
  return `balance ${state.balance}, fractionalBalance ${state.fractionalBalance}, debt ${state.debt} (position ${position(state)} centi-cents)`;
}

/** A refund as the purchase's author, who may refund its own sales (as may an admin). */
async function refund(author: Person, purchaseId: string, body: { amount?: number; reason?: string }) {
  const result = await as(author.userId).request('post', '/purchases/{purchaseId}/refunds', {
    path: { purchaseId },
    header: { 'Idempotency-Key': randomUUID() },
    body,
  });
  if (!result.ok) fail('refund', result);
  return result.data;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function report(): Promise<void> {
  say('\nFinancial report (all time), requested as the platform account');
  const queued = await admin.request('post', '/reports/financial', {});
  if (!queued.ok) {
    if (queued.status === 404) {
      say('  POST /reports/financial answered 404: this build has no reports endpoint yet; skipping');
      return;
    }
    fail('request a report', queued);
  }
  say(`  queued job ${queued.data.jobId}`);
  for (let attempt = 1; attempt <= REPORT_POLL_ATTEMPTS; attempt += 1) {
    const polled = await admin.request('get', '/reports/financial/{jobId}', { path: { jobId: queued.data.jobId } });
    if (!polled.ok) fail('read the report', polled);
    if (polled.data.status === 'completed' || polled.data.status === 'failed') {
      say(`  ${polled.data.status}:`);
      say(JSON.stringify(polled.data.status === 'completed' ? polled.data.result : polled.data.error, null, 2).replace(/^/gm, '    '));
      return;
    }
    await sleep(REPORT_POLL_INTERVAL_MS);
  }
  say(`  still not completed after ${REPORT_POLL_ATTEMPTS} polls; is a worker running (APP_ROLE=all or worker)?`);
}

function curls(buyer: Person, author: Person, ids: { refundedPurchaseId: string; refundablePurchaseId: string }): void {
  const base = BASE_URL;
  const asBuyer = `-H 'X-User-Id: ${buyer.userId}'`;
  const asAuthor = `-H 'X-User-Id: ${author.userId}'`;
  const asAdmin = `-H 'X-User-Id: ${ADMIN_ID}'`;
  const json = `-H 'Content-Type: application/json'`;
  // A period around today (from inclusive, to exclusive), so that the reports include the demo's data.
  const dayMs = 86_400_000;
  const today = Math.floor(Date.now() / dayMs) * dayMs;
  const from = new Date(today - 7 * dayMs).toISOString();
  const to = new Date(today + dayMs).toISOString();
  say('\nTry it yourself (header auth: X-User-Id is the caller):');
  const lines = [
    `curl -s ${base}/health`,
    `curl -s ${base}/health/ready`,
    `curl -s ${base}/metrics | head`,
    `curl -s -X POST ${base}/wallets ${asBuyer}`,
    `curl -s ${base}/wallets/${buyer.walletId} ${asBuyer}`,
    `curl -s '${base}/wallets/${buyer.walletId}/ledger?limit=5' ${asBuyer}`,
    `curl -s -X POST ${base}/wallets/${buyer.walletId}/deposit ${asBuyer} ${json} -d '{"amount":5000}'`,
    `curl -s -X POST ${base}/wallets/${buyer.walletId}/withdrawals ${asBuyer} ${json} -H 'Idempotency-Key: ${randomUUID()}' -d '{"amount":100}'`,
    `curl -s -i -X POST ${base}/purchases ${asBuyer} ${json} -H 'Idempotency-Key: ${randomUUID()}' -d '{"buyerWalletId":"${buyer.walletId}","authorWalletId":"${author.walletId}","itemPrice":99}'`,
    `curl -s ${base}/purchases/${ids.refundedPurchaseId} ${asBuyer}   # status refunded, with its refund`,
    `curl -s -i -X POST ${base}/purchases/${ids.refundablePurchaseId}/refunds ${asAuthor} ${json} -H 'Idempotency-Key: ${randomUUID()}' -d '{"amount":50,"reason":"customer_request"}'`,
    `curl -s ${base}/wallets/${author.walletId} ${asAuthor}   # balance, fractionalBalance and debt`,
    `curl -s ${base}/wallets/${author.walletId}/royalties ${asAuthor}`,
    `curl -s -i -X POST ${base}/reports/financial ${asAdmin} ${json} -d '{"from":"${from}","to":"${to}"}'`,
    `curl -s ${base}/reports/financial/<jobId from the Location header> ${asAdmin}`,
    `curl -s '${base}/reports/authors/top?from=${from}&to=${to}&limit=5' ${asAdmin}`,
    `curl -s -X POST ${base}/admin/reconciliations ${asAdmin}`,
    `curl -s -X PUT ${base}/royalty-terms/ebook-1 ${asAdmin} ${json} -d '{"payees":[{"walletId":"${author.walletId}","share":10000}]}'`,
    `curl -s '${base}/purchases?authorWalletId=${author.walletId}&limit=5' ${asAuthor}`,
    `curl -s '${base}/wallets/${buyer.walletId}/balance?at=${to}' ${asBuyer}`,
    `curl -s '${base}/wallets/${buyer.walletId}/statement.csv?from=${from}&to=${to}' ${asBuyer}`,
    `curl -s ${base}/admin/reconciliations/<runId> ${asAdmin}`,
    `open ${base}/api            # Swagger UI: Authorize with a user id, then "Try it out"`,
    `curl -s ${base}/admin/queues/api/queues ${asAdmin}   # the queue dashboard's data (UI at /admin/queues)`,
  ];
  for (const line of lines) say(`  ${line}`);
}

/** How long the demo waits, at the end, for the last webhook deliveries. */
const DELIVERY_WAIT_POLLS = 40;
const DELIVERY_WAIT_INTERVAL_MS = 1_000;

interface Receiver {
  server: Server;
  endpointId: string;
  received: number;
}

/**
 * A webhook receiver on 127.0.0.1 (DEMO_RECEIVER_HOST to change), registered for every event
 * type: it verifies each delivery with the Standard Webhooks library and prints it. Needs the
 * service to run with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true and a worker (APP_ROLE all or worker).
 */
async function startReceiver(): Promise<Receiver | undefined> {
  const host = process.env.DEMO_RECEIVER_HOST ?? '127.0.0.1';
  const state = { secret: '', received: 0 };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let line: string;
      try {
        const event = new Webhook(state.secret).verify(body, request.headers as Record<string, string>) as { type: string; data: { id: string } };
        line = `signature ok  ${event.type.padEnd(18)} data.id ${event.data.id}`;
      } catch (error) {
        line = `BAD SIGNATURE (${error instanceof Error ? error.message : String(error)})`;
      }
      state.received += 1;
      say(`  [webhook] webhook-id ${String(request.headers['webhook-id'])}  ${line}`);
      response.statusCode = 204;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const registered = await admin.request('post', '/webhook-endpoints', {
    body: {
      url: `http://${host}:${port}/wallet-events`,
      eventTypes: [
        'deposit.created',
        'purchase.completed',
        'purchase.authorized',
        'purchase.voided',
        'refund.created',
        'withdrawal.created',
        'withdrawal.paid',
        'withdrawal.failed',
      ],
      description: 'npm run demo',
    },
  });
  if (!registered.ok) {
    say(`  (no webhooks: ${registered.status} ${registered.problem.detail}; start the service with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true)`);
    server.close();
    return undefined;
  }
  state.secret = registered.data.secret;
  say(`  receiver http://${host}:${port}/wallet-events registered as endpoint ${registered.data.id}`);
  return {
    server,
    endpointId: registered.data.id,
    get received() {
      return state.received;
    },
  };
}

/** Waits (bounded) for deliveries to stop arriving, then unregisters the receiver. */
async function stopReceiver(receiver: Receiver): Promise<void> {
  let last = -1;
  for (let poll = 0; poll < DELIVERY_WAIT_POLLS && receiver.received !== last; poll += 1) {
    last = receiver.received;
    await new Promise((resolve) => setTimeout(resolve, DELIVERY_WAIT_INTERVAL_MS));
  }
  say(`  ${receiver.received} signed deliveries received; see GET /webhook-endpoints/${receiver.endpointId}/deliveries`);
  await fetch(`${BASE_URL}/webhook-endpoints/${receiver.endpointId}`, { method: 'DELETE', headers: { 'X-User-Id': ADMIN_ID } });
  receiver.server.closeAllConnections();
  receiver.server.close();
}

async function main(): Promise<void> {
  const health = await fetch(`${BASE_URL}/health`).catch(() => undefined);
  if (!health?.ok) {
    say(`No service answers at ${BASE_URL}/health. Start it with \`npm start\` (or set DEMO_BASE_URL).`);
    process.exit(1);
  }

  say('\nA webhook receiver for the events of everything below:');
  const receiver = await startReceiver();

  say(`Demo data on ${BASE_URL}`);
  say('\nPeople (each with a new wallet):');
  const alice = await person('alice', 10_000);
  const bob = await person('bob', 5_000);
  const carol = await person('carol', 500);
  const dana = await person('dana', 0);
  const eve = await person('eve', 0);

  say('\nFour 99-cent purchases by alice from dana: 70% of 99 is 69.30 cents, so 30 centi-cents carry each time');
  const danaSales: string[] = [];
  for (let index = 1; index <= 4; index += 1) {
    const result = await buy(alice, dana, 99);
    if (!result.ok) fail('purchase', result);
    danaSales.push(result.data.id);
    const author = await wallet(dana);
    say(
      `  #${index}: author +${result.data.authorAmount}, platform +${result.data.platformAmount}; ` +
        `dana balance ${author.balance}, fractionalBalance ${author.fractionalBalance}`,
    );
  }
  const dana4 = await wallet(dana);
  say(`  dana ends at ${dana4.balance} cents with fractionalBalance ${dana4.fractionalBalance} (expected 277 and 20)`);

  say("\ndana refunds alice's third purchase: the author side gives up exactly 99 * 70 = 6930 centi-cents");
  const [, , thirdSale, fourthSale] = danaSales;
  const refunded = await refund(dana, thirdSale!, { reason: 'customer_request' });
  const dana5 = await wallet(dana);
  say(`  refund ${refunded.id}: alice +${refunded.amount}, author -${refunded.authorAmount}, platform -${refunded.platformAmount}`);
  say(`  dana before: ${describeWallet(dana4)}`);
  say(`  dana after:  ${describeWallet(dana5)} (expected 207 and 90)`);
  say(`  position lowered by ${position(dana4) - position(dana5)} centi-cents (expected 6930)`);

  say('\nbob buys a 1999-cent course from eve: author 1399, platform 600');
  const course = await buy(bob, eve, 1_999);
  if (!course.ok) fail('purchase', course);
  say(`  author +${course.data.authorAmount}, platform +${course.data.platformAmount}`);

  say('\ncarol tries a 1000-cent album with 500 cents, tops up, and retries with the same Idempotency-Key');
  const key = randomUUID();
  const refused = await buy(carol, eve, 1_000, key);
  say(`  first try: ${refused.status} ${refused.ok ? '' : refused.problem.code} (the key stays free)`);
  const topUp = await as(carol.userId).request('post', '/wallets/{walletId}/deposit', {
    path: { walletId: carol.walletId },
    body: { amount: 1_000 },
  });
  if (!topUp.ok) fail('top up', topUp);
  const retried = await buy(carol, eve, 1_000, key);
  const replayed = await buy(carol, eve, 1_000, key);
  say(`  retry: ${retried.status}; same key again: ${replayed.status}, Idempotent-Replayed ${replayed.ok && replayed.replayed}`);

  say('\ndana withdraws 200 cents of royalties, then refunds the fourth sale: 69 cents taken back, 7 in the wallet');
  const withdrawal = await as(dana.userId).request('post', '/wallets/{walletId}/withdrawals', {
    path: { walletId: dana.walletId },
    header: { 'Idempotency-Key': randomUUID() },
    body: { amount: 200 },
  });
  if (!withdrawal.ok) fail('withdraw', withdrawal);
  say(
    `  withdrawal ${withdrawal.data.id}: ${cents(withdrawal.data.amount)}, ${withdrawal.data.status}; dana now ${cents((await wallet(dana)).balance)}`,
  );
  // The payment provider's integration (an admin) reports the payout paid.
  const paid = await admin.request('post', '/withdrawals/{withdrawalId}/settle', { path: { withdrawalId: withdrawal.data.id } });
  if (!paid.ok) fail('settle', paid);
  say(`  the rail paid it: status ${paid.data.status} at ${paid.data.resolvedAt}`);
  const uncovered = await refund(dana, fourthSale!, {});
  const dana6 = await wallet(dana);
  say(`  refund ${uncovered.id}: alice +${uncovered.amount}, author -${uncovered.authorAmount}, platform -${uncovered.platformAmount}`);
  say(`  dana: ${describeWallet(dana6)}; alice was refunded in full, the uncovered cents are dana's debt`);
  const repay = await as(dana.userId).request('post', '/wallets/{walletId}/deposit', {
    path: { walletId: dana.walletId },
    body: { amount: 100 },
  });
  if (!repay.ok) fail('deposit', repay);
  say(`  dana deposits 100 cents: the debt is repaid first; ${describeWallet(await wallet(dana))}`);

  say('\ncarol withdraws 300 cents to a closed bank account: the payout is pending, then fails and the money comes back');
  const doomed = await as(carol.userId).request('post', '/wallets/{walletId}/withdrawals', {
    path: { walletId: carol.walletId },
    header: { 'Idempotency-Key': randomUUID() },
    body: { amount: 300, destination: 'acct_closed_0042' },
  });
  if (!doomed.ok) fail('withdraw', doomed);
  say(`  withdrawal ${doomed.data.id}: ${doomed.data.status} to ${doomed.data.destination}; carol now ${cents((await wallet(carol)).balance)}`);
  const failed = await admin.request('post', '/withdrawals/{withdrawalId}/fail', {
    path: { withdrawalId: doomed.data.id },
    body: { reason: 'account_closed' },
  });
  if (!failed.ok) fail('fail the payout', failed);
  say(`  the rail refused it: status ${failed.data.status} (${failed.data.failureReason}); carol back at ${cents((await wallet(carol)).balance)}`);
  const again = await admin.request('post', '/withdrawals/{withdrawalId}/settle', { path: { withdrawalId: doomed.data.id } });
  say(`  settling it now: ${again.status} ${again.ok ? '' : again.problem.code}`);

  say('\nbob authorizes a 1500-cent course from eve (capture: false): the money is held, the split waits for capture');
  const hold = await as(bob.userId).request('post', '/purchases', {
    header: { 'Idempotency-Key': randomUUID() },
    body: { buyerWalletId: bob.walletId, authorWalletId: eve.walletId, itemPrice: 1_500, capture: false },
  });
  if (!hold.ok) fail('authorize', hold);
  const bobHeld = await wallet(bob);
  say(`  hold ${hold.data.id}: ${hold.data.status} until ${hold.data.expiresAt}; bob balance ${bobHeld.balance}, held ${bobHeld.heldBalance}`);
  const captured = await as(bob.userId).request('post', '/purchases/{purchaseId}/capture', {
    path: { purchaseId: hold.data.id },
    body: { amount: 999 },
  });
  if (!captured.ok) fail('capture', captured);
  say(`  captured 999 of it: ${captured.data.status}, author +${captured.data.authorAmount}, platform +${captured.data.platformAmount}; bob ${cents((await wallet(bob)).balance)}`);
  const second = await as(bob.userId).request('post', '/purchases', {
    header: { 'Idempotency-Key': randomUUID() },
    body: { buyerWalletId: bob.walletId, authorWalletId: eve.walletId, itemPrice: 700, capture: false },
  });
  if (!second.ok) fail('authorize', second);
  const voided = await as(bob.userId).request('post', '/purchases/{purchaseId}/void', { path: { purchaseId: second.data.id } });
  if (!voided.ok) fail('void', voided);
  say(`  a second hold of 700 cents is voided: ${voided.data.status}; bob back at ${cents((await wallet(bob)).balance)}`);

  say('\nCo-authors (ADR 0045): an admin gives an e-book three payees at 3333/3333/3334 basis points');
  const coAuthors = [await person('frank', 0), await person('grace', 0), await person('heidi', 0)];
  const itemId = `ebook:demo-${randomUUID().slice(0, 8)}`;
  const terms = await admin.request('put', '/royalty-terms/{itemId}', {
    path: { itemId },
    body: { payees: coAuthors.map((payee, i) => ({ walletId: payee.walletId, share: i === 2 ? 3334 : 3333 })) },
  });
  if (!terms.ok) fail('set royalty terms', terms);
  say(`  ${itemId}: version ${terms.data.version}, ${terms.data.royaltyPercent}% to the payees`);
  for (let sale = 1; sale <= 2; sale += 1) {
    const split = await as(bob.userId).request('post', '/purchases', {
      header: { 'Idempotency-Key': randomUUID() },
      body: { buyerWalletId: bob.walletId, itemId, itemPrice: 99, metadata: { orderId: `demo-${sale}` }, capture: true },
    });
    if (!split.ok) fail('split purchase', split);
    say(
      `  99-cent sale ${sale}: 6930 centi-cents as 2310 each; paid ${split.data.payees.map((p) => p.amount).join('/')} cents, ` +
        `platform ${split.data.platformAmount}`,
    );
  }
  for (const payee of coAuthors) {
    const held = await wallet(payee);
    say(`  ${payee.name.padEnd(7)} balance ${held.balance}, carry ${held.fractionalBalance} centi-cents (2 x 2310 = 4620 = 100 * 46 + 20)`);
  }

  await report();
  curls(alice, dana, { refundedPurchaseId: thirdSale!, refundablePurchaseId: danaSales[0]! });
  if (receiver) {
    say('\nWebhooks (each verified with the standardwebhooks library):');
    await stopReceiver(receiver);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
