import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import postgres, { Sql } from 'postgres';
import { EVENT_TYPES } from '../../src/events/event-types';
import { expectBooksBalanced } from '../setup/books';
import { randomInt, seededRandom } from '../setup/seeded';
import { PrivatePostgres, PrivateRedis, ServiceProcess, sleep, stablePort, waitFor } from './cluster';
import { WebhookReceiver } from './receiver';

/**
 * Fault injection on loopback only, against servers of this suite's own: two API processes and
 * a worker share one private PostgreSQL and one private Redis while clients buy, deposit,
 * withdraw and refund their earlier sales, retrying every failed or unanswered request with the
 * same Idempotency-Key. One author withdraws everything it has before each refund, so that
 * refunds run it into debt and its next royalties repay it. The API process is SIGKILLed, Redis
 * is killed, PostgreSQL connections are terminated and the server restarted. Afterwards every
 * acknowledged operation is in the books exactly once, and no purchase is refunded beyond its price.
 *
 * Events and webhooks (ADR 0030, 0032): a receiver on 127.0.0.1 is subscribed to every event type
 * from the start, and a consumer follows GET /events throughout. The worker is SIGKILLed while the
 * receiver holds attempts open, and the receiver itself is down for a while. Afterwards every
 * committed event has been answered by the receiver at least once, repeats carry the same
 * `webhook-id` and body, every request verifies with the Standard Webhooks library, and the feed
 * consumer saw every event exactly once. Retry and recovery settings are short (configuration),
 * and every wait is bounded.
 */

/** No request may take longer than this; the service must answer 503 rather than hang. */
const REQUEST_TIMEOUT_MS = 10_000;
const CLIENTS = 6;
const ATTEMPTS_MAX = 400;
const PLATFORM_USER_ID = '00000000-0000-4000-8000-00000000beef';
/** Short webhook timing, so that recovery takes seconds (the defaults are tens of seconds). */
const WEBHOOK_ENV = {
  WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
  WEBHOOK_TIMEOUT_MS: '2000',
  // Retries within 0.1, 0.4, 1.6, 6.4 s (at most): a receiver down for 4 s is caught up within seconds.
  WEBHOOK_RETRY_BASE_MS: '100',
  WEBHOOK_MAX_ATTEMPTS: '20',
  // Lost jobs are found 0.75 s overdue; an attempt killed mid-flight is retried after 2 + 1.5 s.
  WEBHOOK_SWEEP_INTERVAL_MS: '250',
  WEBHOOK_DISPATCH_INTERVAL_MS: '50',
  // One endpoint gets a quarter of these at once: 16, so that a backlog drains while the load runs.
  WEBHOOK_CONCURRENCY: '64',
};
/** Bounds on the waits after the load stops: every event delivered, the feed consumer caught up. */
const DELIVERY_DEADLINE_MS = 60_000;
const FEED_DEADLINE_MS = 30_000;
/** How long the receiver stays down while the load runs. */
const RECEIVER_DOWN_MS = 4_000;

type Operation = 'deposit' | 'withdrawal' | 'purchase' | 'refund';

interface Acknowledged {
  operation: Operation;
  key: string;
  userId: string;
  /** The amount acknowledged: for a refund without one, what the service says it gave back. */
  amountCents: number;
  /** The purchase, withdrawal or refund id, or the wallet id for a deposit. */
  id: string;
  requestId: string;
  /** A purchase's author (who may refund it), or a refund's purchase. */
  authorUserId?: string;
  purchaseId?: string;
}

/** One money request, sent again with the same key until it has a definitive answer. */
interface Intent {
  operation: Operation;
  userId: string;
  path: string;
  body: Record<string, unknown>;
  /** Undefined for a refund of everything not yet refunded: the answer says how much. */
  amountCents: number | undefined;
  authorUserId?: string;
  purchaseId?: string;
}

/** Definitive refusals the workload expects (not abandoned work): money or refundable cents ran out. */
const EXPECTED_REFUSALS: Record<number, string> = { 402: 'INSUFFICIENT_FUNDS', 422: 'REFUND_EXCEEDS_REMAINING' };

interface Observation {
  phase: string;
  status: number | 'timeout' | 'network';
  problemOk?: boolean;
  body?: string;
}

interface Client {
  userId: string;
  walletId: string;
}

describe('fault injection: crashes and outages under load', () => {
  let pg: PrivatePostgres;
  let redis: PrivateRedis;
  let apis: ServiceProcess[];
  let worker: ServiceProcess;
  let workerDiedOfPostgresRestart: string | undefined;
  let receiver: WebhookReceiver;
  let sql: Sql;
  let phase = 'startup';
  let stopping = false;
  let refusedRefunds = 0;
  const acknowledged: Acknowledged[] = [];
  const observations: Observation[] = [];
  const abandoned: string[] = [];
  /** Which API process serves each request, and the pause before a retry: seeded, so a run's choices replay. */
  const pickInstance = seededRandom(100);
  const jitter = seededRandom(101);

  beforeAll(async () => {
    pg = await PrivatePostgres.start();
    redis = await PrivateRedis.start();
    // Seeded answer pauses; a port of its own below the ephemeral range, as it goes down and up.
    receiver = new WebhookReceiver(await stablePort(), seededRandom(102));
    await receiver.start();
    const env = {
      ...WEBHOOK_ENV,
      DATABASE_URL: pg.url,
      DATABASE_POOL_MAX: '8',
      REDIS_URL: redis.url,
      PLATFORM_ACCOUNT_ID: PLATFORM_USER_ID,
      LOG_LEVEL: 'info',
      NODE_ENV: 'test',
      SHUTDOWN_TIMEOUT_MS: '5000',
    };
    apis = [
      new ServiceProcess('api-1', 'api', await stablePort(), env),
      new ServiceProcess('api-2', 'api', await stablePort(), env),
    ];
    worker = new ServiceProcess('worker', 'worker', await stablePort(), env);
    // The first process creates and migrates the database; the others then find it ready.
    await apis[0]!.start();
    await Promise.all([apis[1]!.start(), worker.start()]);
    sql = postgres(pg.url, { max: 2, onnotice: () => undefined });
  }, 120_000);

  afterAll(async () => {
    await sql?.end({ timeout: 5 }).catch(() => undefined);
    for (const service of [...(apis ?? []), worker]) await service?.kill('SIGKILL');
    await redis?.kill();
    await pg?.stop();
    await receiver?.stop();
  });

  async function call(
    method: string,
    path: string,
    options: { userId: string; key?: string; body?: unknown },
  ): Promise<{ status: number; body: any; requestId: string } | undefined> {
    const instance = apis[Math.floor(pickInstance() * apis.length)]!;
    const headers: Record<string, string> = { 'x-user-id': options.userId };
    if (options.key) headers['idempotency-key'] = options.key;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    try {
      const response = await fetch(`${instance.baseUrl}${path}`, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await response.text();
      const observation: Observation = { phase, status: response.status };
      if (response.status >= 500) {
        observation.body = text.slice(0, 300);
        observation.problemOk =
          response.status === 503 &&
          (response.headers.get('content-type') ?? '').includes('application/problem+json') &&
          (JSON.parse(text) as { code?: string }).code === 'SERVICE_UNAVAILABLE';
      }
      observations.push(observation);
      return {
        status: response.status,
        body: text.length > 0 && text.startsWith('{') ? JSON.parse(text) : text,
        requestId: response.headers.get('x-request-id') ?? '',
      };
    } catch (error) {
      const timedOut = (error as Error).name === 'TimeoutError';
      observations.push({ phase, status: timedOut ? 'timeout' : 'network' });
      return undefined;
    }
  }

  /** One operation, retried with the same key until it has a definitive answer. */
  async function submit(intent: Intent): Promise<'acknowledged' | 'refused'> {
    const key = randomUUID();
    const { operation, userId, path, body } = intent;
    for (let attempt = 1; attempt <= ATTEMPTS_MAX; attempt++) {
      const response = await call('POST', path, { userId, key, body });
      if (response && response.status >= 200 && response.status < 300) {
        acknowledged.push({
          operation,
          key,
          userId,
          amountCents: intent.amountCents ?? (response.body.amount as number),
          id: response.body.id as string,
          requestId: response.requestId,
          authorUserId: intent.authorUserId,
          purchaseId: intent.purchaseId,
        });
        return 'acknowledged';
      }
      // An expected refusal is a definitive answer; so is any other 4xx except "still in flight".
      if (response && response.status >= 400 && response.status < 500 && response.status !== 409) {
        if (EXPECTED_REFUSALS[response.status] !== response.body?.code) {
          abandoned.push(`${operation} ${key}: ${response.status} ${JSON.stringify(response.body)}`);
        } else if (response.status === 422) {
          refusedRefunds += 1;
        }
        return 'refused';
      }
      await sleep(50 + jitter() * 150);
    }
    abandoned.push(`${operation} ${key}: no definitive answer after ${ATTEMPTS_MAX} attempts`);
    return 'refused';
  }

  async function perform(operation: Exclude<Operation, 'refund'>, client: Client, author: Client, amountCents: number): Promise<void> {
    const [path, body] =
      operation === 'deposit'
        ? [`/wallets/${client.walletId}/deposit`, { amount: amountCents }]
        : operation === 'withdrawal'
          ? [`/wallets/${client.walletId}/withdrawals`, { amount: amountCents }]
          : ['/purchases', { buyerWalletId: client.walletId, authorWalletId: author.walletId, itemPrice: amountCents }];
    await submit({ operation, userId: client.userId, path, body, amountCents, authorUserId: author.userId });
  }

  /**
   * A refund of an acknowledged sale, as `callerUserId` (its author or the platform account, an
   * admin): all that is left, or a part that may exceed it. Refunds of one purchase by its author
   * and by the admin race; the loser gets 422 REFUND_EXCEEDS_REMAINING, a definitive answer.
   */
  async function refund(callerUserId: string, sale: Acknowledged, random: () => number): Promise<void> {
    const amountCents = random() < 0.5 ? undefined : randomInt(random, 1, sale.amountCents);
    await submit({
      operation: 'refund',
      userId: callerUserId,
      path: `/purchases/${sale.id}/refunds`,
      body: amountCents === undefined ? { reason: 'fault suite' } : { amount: amountCents },
      amountCents,
      purchaseId: sale.id,
    });
  }

  function salesOf(authorUserId: string | undefined): Acknowledged[] {
    return acknowledged.filter((a) => a.operation === 'purchase' && (authorUserId === undefined || a.authorUserId === authorUserId));
  }

  /** Balance in cents, read until an instance answers (undefined once the workload stops). */
  async function balanceOf(client: Client): Promise<number | undefined> {
    while (!stopping) {
      const response = await call('GET', `/wallets/${client.walletId}`, { userId: client.userId });
      if (response?.status === 200) return response.body.balance as number;
      await sleep(100);
    }
    return undefined;
  }

  async function createClient(): Promise<Client> {
    const userId = randomUUID();
    for (let attempt = 1; attempt <= 50; attempt++) {
      const response = await call('POST', '/wallets', { userId });
      if (response && (response.status === 201 || response.status === 200)) return { userId, walletId: response.body.id };
      await sleep(100);
    }
    throw new Error('could not create a wallet');
  }

  async function allReady(): Promise<void> {
    for (const api of apis) {
      await waitFor(`${api.name} ready again`, async () => {
        const response = await fetch(`${api.baseUrl}/health/ready`, { signal: AbortSignal.timeout(2_000) });
        return response.status === 200;
      });
    }
  }

  /** The admin's request to whichever API process answers it first (none: undefined). */
  let adminTurn = 0;
  async function asAdmin(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: any } | undefined> {
    for (let tried = 0; tried < apis.length; tried++) {
      const api = apis[adminTurn++ % apis.length]!;
      try {
        const response = await fetch(`${api.baseUrl}${path}`, {
          method,
          headers: { 'x-user-id': PLATFORM_USER_ID, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        });
        const text = await response.text();
        if (response.status < 500) return { status: response.status, body: text.startsWith('{') ? JSON.parse(text) : text };
      } catch {
        // This process is down or timed out; try the other one.
      }
    }
    return undefined;
  }

  /** A consumer of GET /events: every id it was given, in order, and where it stands. */
  const feed = { seen: [] as string[], cursor: undefined as string | undefined, pages: 0 };
  /** One page; the number of events it had, or undefined when no process answered. */
  async function readFeedPage(): Promise<number | undefined> {
    const response = await asAdmin('GET', `/events?limit=200${feed.cursor ? `&after=${feed.cursor}` : ''}`);
    if (response?.status !== 200) return undefined;
    feed.pages += 1;
    feed.seen.push(...(response.body.items as { id: string }[]).map((item) => item.id));
    feed.cursor = response.body.nextCursor as string;
    return response.body.items.length as number;
  }

  it('keeps every acknowledged operation, exactly once, through crashes and outages', async () => {
    // The receiver is subscribed to every event type before any money moves.
    const registered = await asAdmin('POST', '/webhook-endpoints', { url: receiver.url, eventTypes: [...EVENT_TYPES] });
    expect(registered?.status).toBe(201);
    const endpointId = registered!.body.id as string;
    receiver.setSecret(registered!.body.secret as string);
    const outages: Record<string, number> = {};
    const feedConsumer = (async () => {
      while (!stopping) {
        const count = await readFeedPage();
        if (!count) await sleep(100);
      }
    })();

    const clients = await Promise.all(Array.from({ length: CLIENTS }, () => createClient()));
    // An author only: it never buys or deposits, and withdraws all it has before each refund.
    const drained = await createClient();
    // Start with money so that purchases and withdrawals mostly succeed.
    await Promise.all(clients.map((client) => perform('deposit', client, client, 100_000)));

    const buyers = Promise.all(
      clients.map(async (client, index) => {
        // Each client's choices are its own seeded sequence (the interleaving is the faults').
        const random = seededRandom(index + 1);
        while (!stopping) {
          const author = random() < 0.2 ? drained : clients[(index + randomInt(random, 1, CLIENTS - 1)) % CLIENTS]!;
          const roll = random();
          const mine = salesOf(client.userId);
          if (roll < 0.45) await perform('purchase', client, author, randomInt(random, 1, 3_000));
          else if (roll < 0.65) await perform('deposit', client, author, randomInt(random, 1, 5_000));
          else if (roll < 0.85) await perform('withdrawal', client, author, randomInt(random, 1, 2_000));
          // The author refunds one of its sales; now and then the admin refunds anyone's.
          else if (roll < 0.95 && mine.length > 0) await refund(client.userId, mine[randomInt(random, 0, mine.length - 1)]!, random);
          else if (salesOf(undefined).length > 0) {
            const all = salesOf(undefined);
            await refund(PLATFORM_USER_ID, all[randomInt(random, 0, all.length - 1)]!, random);
          }
        }
      }),
    );
    const drainedAuthor = (async () => {
      const random = seededRandom(CLIENTS + 1);
      while (!stopping) {
        const sales = salesOf(drained.userId);
        if (sales.length === 0) {
          await sleep(100);
          continue;
        }
        const balance = await balanceOf(drained);
        if (balance !== undefined && balance > 0) await perform('withdrawal', drained, drained, balance);
        await refund(drained.userId, sales[randomInt(random, 0, sales.length - 1)]!, random);
      }
    })();
    const workload = Promise.all([buyers, drainedAuthor]);

    // Multi-instance: three processes on one Redis, one reconciliation schedule.
    const schedulerRedis = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    const reconciliation = new Queue('reconciliation', { connection: schedulerRedis, prefix: 'wallet:bull' });
    // Workers register it in the background and restore it within a minute if Redis lost it.
    const scheduleDeadline = Date.now() + 70_000;
    while ((await reconciliation.getJobSchedulersCount()) === 0 && Date.now() < scheduleDeadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(await reconciliation.getJobSchedulersCount()).toBe(1);
    await reconciliation.close();
    schedulerRedis.disconnect();

    phase = 'steady';
    await sleep(2_000);

    // (a) An API process and the worker crash mid-request and come back. The receiver holds its
    // answers first, so that the worker dies with attempts in flight: the receiver has those
    // requests, the service never learns the outcome, and must send them again.
    receiver.hold();
    await waitFor('a webhook attempt held open at the receiver', async () => receiver.heldCount() > 0, 15_000);
    phase = 'api-killed';
    let downSince = Date.now();
    await Promise.all([apis[0]!.kill('SIGKILL'), worker.kill('SIGKILL')]);
    receiver.release();
    await sleep(1_500);
    await Promise.all([apis[0]!.start(), worker.start()]);
    outages.workerAndApi = Date.now() - downSince;
    phase = 'after-api-restart';
    await sleep(1_500);

    // (b) Redis dies. Money keeps moving (it is a cache); readiness says which dependency is down.
    phase = 'redis-down';
    downSince = Date.now();
    await redis.kill();
    await sleep(500);
    const notReady = await fetch(`${apis[1]!.baseUrl}/health/ready`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    expect(notReady.status).toBe(503);
    expect(((await notReady.json()) as { checks: Record<string, string> }).checks.redis).toBe('down');
    const acknowledgedBefore = acknowledged.length;
    await sleep(3_000);
    const acknowledgedWithoutRedis = acknowledged.length - acknowledgedBefore;
    await redis.resume();
    phase = 'after-redis-restart';
    await allReady();
    outages.redis = Date.now() - downSince;
    await sleep(1_000);

    // (c) PostgreSQL drops every connection of the service, then restarts.
    phase = 'pg-terminated';
    downSince = Date.now();
    const admin = postgres(pg.adminUrl, { max: 1, onnotice: () => undefined });
    await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'wallet' AND pid <> pg_backend_pid()`;
    await admin.end({ timeout: 5 });
    await sleep(1_500);
    phase = 'pg-restarting';
    await pg.restart();
    phase = 'after-pg-restart';
    // postgres.js 3.4.9 can kill a process whose transaction's connection PostgreSQL closed (an
    // uncaught write to the closed socket, porsager/postgres#1154; patches/README.md). A
    // supervisor restarts such a process; so does this test, and nothing may be lost meanwhile.
    await allReady();
    outages.postgres = Date.now() - downSince;
    await sleep(1_500);
    // Checked once the APIs are back and a moment later: the worker may die on its first write to
    // a connection closed by the restart, after the restart itself has returned.
    if (worker.exitStatus !== undefined) {
      workerDiedOfPostgresRestart = `${worker.exitStatus} (last stderr: ${worker.rawOutput.slice(-2).join(' ').slice(-300)})`;
      await worker.start();
    }

    // (d) The receiver is down (connections refused) while money keeps moving, then comes back.
    phase = 'receiver-down';
    downSince = Date.now();
    await receiver.stop();
    await sleep(RECEIVER_DOWN_MS);
    await receiver.start();
    outages.receiver = Date.now() - downSince;
    phase = 'after-receiver-restart';
    await sleep(1_000);

    stopping = true;
    await Promise.all([workload, feedConsumer]);
    phase = 'done';
    const loadStoppedAt = Date.now();

    // Recovery took no manual step: every instance is ready again.
    await allReady();
    // No API process died of the outages (only the SIGKILLs above, after which each was
    // restarted), and the worker runs (restarted above if the PostgreSQL restart killed it).
    expect([...apis, worker].map((service) => `${service.name} ${service.exitStatus ?? 'running'}`)).toEqual(
      [...apis, worker].map((service) => `${service.name} running`),
    );
    if (workerDiedOfPostgresRestart) process.stdout.write(`worker ${workerDiedOfPostgresRestart} at the PostgreSQL restart; restarted\n`);

    // No request hung, and every failure during an outage was a 503 problem with a clear code.
    expect(observations.filter((o) => o.status === 'timeout')).toEqual([]);
    expect(observations.filter((o) => o.problemOk === false)).toEqual([]);
    expect(abandoned).toEqual([]);
    expect(acknowledgedWithoutRedis).toBeGreaterThan(0);
    const byPhase = (wanted: string) => observations.filter((o) => o.phase === wanted && o.status === 503).length;
    // The faults were real: some requests did fail and were retried.
    expect(observations.filter((o) => o.status === 'network' || o.status === 503).length).toBeGreaterThan(0);

    // Every acknowledged operation is in the books, each key once, with the acknowledged id.
    const purchases = acknowledged.filter((a) => a.operation === 'purchase');
    const withdrawals = acknowledged.filter((a) => a.operation === 'withdrawal');
    const deposits = acknowledged.filter((a) => a.operation === 'deposit');
    const refunds = acknowledged.filter((a) => a.operation === 'refund');
    const storedPurchases = await sql<{ id: string; user_id: string; idempotency_key: string; item_price: string }[]>`
      SELECT id, user_id, idempotency_key, item_price::text FROM purchases`;
    const storedWithdrawals = await sql<{ id: string; idempotency_key: string; amount: string }[]>`
      SELECT id, idempotency_key, amount::text FROM withdrawals`;
    const storedDeposits = await sql<{ idempotency_key: string | null; amount: string }[]>`
      SELECT idempotency_key, amount::text FROM deposits`;
    const storedRefunds = await sql<{ id: string; user_id: string; idempotency_key: string; purchase_id: string; amount: string }[]>`
      SELECT id, user_id, idempotency_key, purchase_id, amount::text FROM refunds`;

    const sortedKeys = (rows: { idempotency_key: string | null }[]) => rows.map((r) => r.idempotency_key).sort();
    // Clients retried until a definitive answer, so what is stored is exactly what was acknowledged.
    expect(sortedKeys(storedPurchases)).toEqual(purchases.map((p) => p.key).sort());
    expect(sortedKeys(storedWithdrawals)).toEqual(withdrawals.map((w) => w.key).sort());
    expect(sortedKeys(storedDeposits)).toEqual(deposits.map((d) => d.key).sort());
    // One refunds row per acknowledged key: none lost, none twice, none the client was refused.
    expect(sortedKeys(storedRefunds)).toEqual(refunds.map((r) => r.key).sort());
    const purchaseById = new Map(storedPurchases.map((p) => [p.id, p]));
    for (const ack of purchases) {
      expect(purchaseById.get(ack.id)).toMatchObject({ idempotency_key: ack.key, item_price: String(ack.amountCents) });
    }
    const withdrawalById = new Map(storedWithdrawals.map((w) => [w.id, w]));
    for (const ack of withdrawals) expect(withdrawalById.get(ack.id)?.idempotency_key).toBe(ack.key);
    const refundById = new Map(storedRefunds.map((r) => [r.id, r]));
    for (const ack of refunds) {
      expect(refundById.get(ack.id)).toEqual({
        id: ack.id,
        user_id: ack.userId,
        idempotency_key: ack.key,
        purchase_id: ack.purchaseId,
        amount: String(ack.amountCents),
      });
    }
    // No purchase is refunded beyond its price, whatever raced.
    const [overRefunded] = await sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM purchases p
       WHERE (SELECT coalesce(sum(r.amount), 0) FROM refunds r WHERE r.purchase_id = p.id) > p.item_price`;
    expect(overRefunded!.n).toBe(0);
    // The drained author's refunds ran into debt, and the debt was repaid by later royalties.
    const [debt] = await sql<{ created: string; repaid: string; outstanding: string }[]>`
      SELECT (SELECT coalesce(sum(author_debt + platform_debt), 0) FROM refunds)::text AS created,
             (SELECT coalesce(sum(author_debt_repaid), 0) FROM purchases)::text AS repaid,
             (SELECT coalesce(sum(debt), 0) FROM wallets)::text AS outstanding`;
    expect(Number(debt!.created)).toBeGreaterThan(0);

    // Money is conserved to the cent and every invariant holds.
    const books = await expectBooksBalanced(sql);
    const sum = (list: Acknowledged[]) => list.reduce((total, a) => total + a.amountCents, 0);
    expect(books.totals.deposited).toBe(sum(deposits));
    expect(books.totals.withdrawn).toBe(sum(withdrawals));
    expect(books.totals.purchaseVolume).toBe(sum(purchases));
    expect(books.totals.purchaseCount).toBe(purchases.length);
    expect(books.totals.refunded).toBe(sum(refunds));
    expect(books.totals.refundCount).toBe(refunds.length);

    // Request-scoped log lines carry the request id; acknowledged requests are findable by it.
    const logs = apis.flatMap((api) => api.logs);
    const requestLines = logs.filter((line) => line.req !== undefined);
    expect(requestLines.length).toBeGreaterThan(0);
    expect(requestLines.filter((line) => typeof line.req?.id !== 'string' || line.req.id.length === 0)).toEqual([]);
    const loggedIds = new Set(requestLines.map((line) => line.req!.id));
    const sample = acknowledged.filter((a) => a.requestId).slice(-20);
    for (const ack of sample) expect(loggedIds.has(ack.requestId)).toBe(true);

    // Webhooks: every committed event reaches the receiver (it answers 200) at least once. Waits
    // are bounded; a failure says what is missing.
    const events = await sql<{ id: string; type: string; created_at: Date; data: unknown }[]>`
      SELECT id, type, created_at, data FROM events ORDER BY xid, seq`;
    const deliveryDeadline = Date.now() + DELIVERY_DEADLINE_MS;
    for (;;) {
      const answered = new Set(receiver.received.filter((r) => r.answered === 200).map((r) => r.webhookId));
      const missing = events.filter((event) => !answered.has(event.id));
      const open = await sql<{ status: string; attempt_count: number; next_attempt_at: Date | null; last_error: string | null }[]>`
        SELECT status, attempt_count, next_attempt_at, last_error FROM webhook_deliveries
         WHERE endpoint_id = ${endpointId}::uuid AND status <> 'delivered' ORDER BY next_attempt_at LIMIT 5`;
      if (missing.length === 0 && open.length === 0) break;
      if (Date.now() > deliveryDeadline) {
        throw new Error(
          `webhooks not caught up ${DELIVERY_DEADLINE_MS} ms after the load stopped: ${missing.length} of ${events.length} ` +
            `events never answered by the receiver (first: ${missing.slice(0, 3).map((e) => e.id).join(', ')}); ` +
            `deliveries not delivered (first 5): ${JSON.stringify(open)}; the worker ${worker.exitStatus ?? 'is running'}; ` +
            `its last warnings: ${JSON.stringify(worker.logs.filter((line) => (line.level ?? 0) >= 40).slice(-3))}; ` +
            `its last stderr: ${worker.rawOutput.slice(-2).join(' ').slice(-1_000)}`,
        );
      }
      await sleep(250);
    }
    const caughtUpMs = Date.now() - loadStoppedAt;
    // An event exists for every movement that committed, and for nothing else.
    const eventsOfType = (type: string) => events.filter((event) => event.type === type).length;
    expect([eventsOfType('deposit.created'), eventsOfType('purchase.completed'), eventsOfType('withdrawal.created'), eventsOfType('refund.created')])
      .toEqual([deposits.length, purchases.length, withdrawals.length, refunds.length]);
    expect(events.length).toBe(acknowledged.length);

    // One delivery per event for the endpoint, made from the feed, each delivered.
    const deliveryRows = await sql<{ event_id: string; n: number; attempts: number }[]>`
      SELECT event_id, count(*)::int AS n, max(attempt_count)::int AS attempts FROM webhook_deliveries
       WHERE endpoint_id = ${endpointId}::uuid AND origin = 'feed' AND status = 'delivered' GROUP BY event_id`;
    expect(deliveryRows.filter((row) => row.n !== 1)).toEqual([]);
    expect(deliveryRows.map((row) => row.event_id).sort()).toEqual(events.map((event) => event.id).sort());

    // Every request verifies with the Standard Webhooks library under the endpoint's secret.
    expect(receiver.received.filter((r) => r.verified !== true).map((r) => `${r.webhookId}: ${r.verifyError ?? 'unchecked'}`)).toEqual([]);
    // Each request is an event of the table, its body that event; repeats are the same webhook-id with the same body.
    const eventById = new Map(events.map((event) => [event.id, event]));
    const requestsById = new Map<string, string[]>();
    for (const request of receiver.received) requestsById.set(request.webhookId, [...(requestsById.get(request.webhookId) ?? []), request.body]);
    expect([...requestsById.keys()].filter((id) => !eventById.has(id))).toEqual([]);
    for (const [id, bodies] of requestsById) {
      const event = eventById.get(id)!;
      expect(JSON.parse(bodies[0]!)).toEqual({ id, type: event.type, createdAt: event.created_at.toISOString(), data: event.data });
      expect(new Set(bodies).size).toBe(1);
    }
    // The attempts the worker died in were sent again, with the same webhook-id, and answered.
    const heldIds = new Set(receiver.received.filter((r) => r.held).map((r) => r.webhookId));
    expect(heldIds.size).toBeGreaterThan(0);
    for (const id of heldIds) {
      expect(receiver.received.filter((r) => r.webhookId === id && !r.held && r.answered === 200).length).toBeGreaterThan(0);
    }
    const duplicates = receiver.received.length - requestsById.size;
    const retried = await sql<{ n: number; max: number }[]>`
      SELECT count(*) FILTER (WHERE attempt_count > 1)::int AS n, max(attempt_count)::int AS max
        FROM webhook_deliveries WHERE endpoint_id = ${endpointId}::uuid`;
    // The receiver's outage was real: attempts failed and were retried.
    expect(retried[0]!.n).toBeGreaterThan(0);

    // The feed consumer, caught up, saw every committed event exactly once.
    const feedDeadline = Date.now() + FEED_DEADLINE_MS;
    while ((await readFeedPage()) !== 0 || feed.seen.length < events.length) {
      if (Date.now() > feedDeadline) {
        throw new Error(`the GET /events consumer did not catch up within ${FEED_DEADLINE_MS} ms: ${feed.seen.length} of ${events.length} events seen`);
      }
      await sleep(100);
    }
    expect(feed.seen.length - new Set(feed.seen).size).toBe(0);
    expect([...feed.seen].sort()).toEqual(events.map((event) => event.id).sort());

    process.stdout.write(
      `faults: ${acknowledged.length} acknowledged (${purchases.length} purchases, ${deposits.length} deposits, ` +
        `${withdrawals.length} withdrawals, ${refunds.length} refunds; ${refusedRefunds} refunds refused as exceeding ` +
        `what was left), debt ${debt!.created} cents created, ${debt!.repaid} repaid by royalties, ` +
        `${debt!.outstanding} outstanding; ${observations.length} requests, ` +
        `${observations.filter((o) => o.status === 'network').length} network errors, ` +
        `503s: redis-down ${byPhase('redis-down')}, pg-terminated ${byPhase('pg-terminated')}, ` +
        `pg-restarting ${byPhase('pg-restarting')}, api-killed ${byPhase('api-killed')}; ` +
        `${acknowledgedWithoutRedis} acknowledged while Redis was down\n` +
        `faults, webhooks: ${events.length} events; the receiver got ${receiver.received.length} requests for ` +
        `${requestsById.size} events (${duplicates} repeats with the same webhook-id; ${heldIds.size} held open when the ` +
        `worker was killed), all verified; ${retried[0]!.n} deliveries needed more than one attempt (at most ` +
        `${retried[0]!.max}); all delivered ${caughtUpMs} ms after the load stopped; feed consumer: ${feed.seen.length} ` +
        `events in ${feed.pages} pages, none twice; outages (ms): worker and API ${outages.workerAndApi}, ` +
        `Redis ${outages.redis}, PostgreSQL ${outages.postgres}, receiver ${outages.receiver}\n`,
    );
  });
});

/**
 * Holds (ADR 0018) through crashes and lost jobs, on a cluster of their own (the checks above
 * count every purchase and event, and holds would change both). Two API processes authorize with
 * a long HOLD_TTL, a third with a short one; two workers sweep expired holds every 200 ms.
 *
 * (1) Holds are authorized; captures (whole or part), voids, and captures racing voids of the
 * same hold run and are retried with the same Idempotency-Key while both long-TTL API processes
 * and one worker are SIGKILLed and restarted, and short-TTL holds expire meanwhile. (2) Holds
 * with the short TTL are authorized while Redis is flushed and then restarted empty. Afterwards
 * every hold ended exactly once (one release transaction, one purchase if captured, one event),
 * what a client was told matches what the database holds, every buyer has exactly its deposits
 * minus what was captured from it, and the books balance.
 */
describe('fault injection: holds through crashes and lost jobs', () => {
  const SHORT_TTL_MS = 2_000;
  const BUYERS = 4;
  const DEPOSIT_CENTS = 200_000;
  /** Bound on waiting for the sweepers once no hold is captured or voided any more. */
  const EXPIRY_DEADLINE_MS = 30_000;
  let pg: PrivatePostgres;
  let redis: PrivateRedis;
  let apis: ServiceProcess[];
  let shortTtlApi: ServiceProcess;
  let workers: ServiceProcess[];
  let sql: Sql;
  const pick = seededRandom(200);
  const jitter = seededRandom(201);
  const statuses: (number | 'network' | 'timeout')[] = [];

  interface Party {
    userId: string;
    walletId: string;
  }
  interface Hold {
    id: string;
    buyer: Party;
    amountCents: number;
    shortTtl: boolean;
  }
  /** What a client was told about a capture or void: 200, or 409 naming the state the hold was in. */
  interface Resolution {
    holdId: string;
    action: 'capture' | 'void';
    requestedCents: number | undefined;
    answer: 'ok' | 'not-authorized';
    /** For 'not-authorized': the state the 409 named. */
    namedState?: string;
    attempts: number;
  }

  beforeAll(async () => {
    pg = await PrivatePostgres.start();
    redis = await PrivateRedis.start();
    const env = {
      DATABASE_URL: pg.url,
      DATABASE_POOL_MAX: '6',
      REDIS_URL: redis.url,
      PLATFORM_ACCOUNT_ID: PLATFORM_USER_ID,
      LOG_LEVEL: 'info',
      NODE_ENV: 'test',
      SHUTDOWN_TIMEOUT_MS: '5000',
      HOLD_TTL: '10m',
      HOLD_SWEEP_INTERVAL_MS: '200',
    };
    apis = [
      new ServiceProcess('holds-api-1', 'api', await stablePort(), env),
      new ServiceProcess('holds-api-2', 'api', await stablePort(), env),
    ];
    shortTtlApi = new ServiceProcess('holds-api-short-ttl', 'api', await stablePort(), { ...env, HOLD_TTL: `${SHORT_TTL_MS}ms` });
    workers = [
      new ServiceProcess('holds-worker-1', 'worker', await stablePort(), env),
      new ServiceProcess('holds-worker-2', 'worker', await stablePort(), env),
    ];
    await apis[0]!.start();
    await Promise.all([apis[1]!.start(), shortTtlApi.start(), ...workers.map((w) => w.start())]);
    sql = postgres(pg.url, { max: 2, onnotice: () => undefined });
  }, 120_000);

  afterAll(async () => {
    await sql?.end({ timeout: 5 }).catch(() => undefined);
    for (const service of [...(apis ?? []), shortTtlApi, ...(workers ?? [])]) await service?.kill('SIGKILL');
    await redis?.kill();
    await pg?.stop();
  });

  async function send(
    instances: ServiceProcess[],
    path: string,
    userId: string,
    body: unknown,
    key?: string,
  ): Promise<{ status: number; body: any } | undefined> {
    const instance = instances[Math.floor(pick() * instances.length)]!;
    const headers: Record<string, string> = { 'x-user-id': userId, 'content-type': 'application/json' };
    if (key) headers['idempotency-key'] = key;
    try {
      const response = await fetch(`${instance.baseUrl}${path}`, {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await response.text();
      statuses.push(response.status);
      return { status: response.status, body: text.startsWith('{') ? JSON.parse(text) : text };
    } catch (error) {
      statuses.push((error as Error).name === 'TimeoutError' ? 'timeout' : 'network');
      return undefined;
    }
  }

  /** Sent again with the same key until the answer is definitive: 2xx, or a 4xx other than "still in flight". */
  async function untilDefinitive(instances: () => ServiceProcess[], path: string, userId: string, body: unknown) {
    const key = randomUUID();
    for (let attempt = 1; attempt <= ATTEMPTS_MAX; attempt++) {
      const response = await send(instances(), path, userId, body, key);
      const inFlight = response?.status === 409 && response.body?.code === 'IDEMPOTENCY_KEY_IN_FLIGHT';
      if (response && response.status < 500 && !inFlight) return { ...response, attempts: attempt };
      await sleep(50 + jitter() * 150);
    }
    throw new Error(`POST ${path}: no definitive answer after ${ATTEMPTS_MAX} attempts`);
  }

  async function createParty(): Promise<Party> {
    const userId = randomUUID();
    const created = await untilDefinitive(() => apis, '/wallets', userId, {});
    expect([200, 201]).toContain(created.status);
    return { userId, walletId: created.body.id as string };
  }

  async function authorize(buyer: Party, author: Party, amountCents: number, shortTtl: boolean): Promise<Hold> {
    const answer = await untilDefinitive(() => (shortTtl ? [shortTtlApi] : apis), '/purchases', buyer.userId, {
      buyerWalletId: buyer.walletId,
      authorWalletId: author.walletId,
      itemPrice: amountCents,
      capture: false,
    });
    expect({ status: answer.status, state: answer.body.status }).toEqual({ status: 201, state: 'authorized' });
    return { id: answer.body.id as string, buyer, amountCents, shortTtl };
  }

  async function resolve(hold: Hold, action: 'capture' | 'void', requestedCents: number | undefined): Promise<Resolution> {
    const answer = await untilDefinitive(
      () => apis,
      `/purchases/${hold.id}/${action}`,
      hold.buyer.userId,
      action === 'capture' && requestedCents !== undefined ? { amount: requestedCents } : {},
    );
    if (answer.status === 200) return { holdId: hold.id, action, requestedCents, answer: 'ok', attempts: answer.attempts };
    // The only definitive refusal here: another transition (or an expiry) won. The 409 says which.
    expect({ status: answer.status, code: answer.body?.code }).toEqual({ status: 409, code: 'PURCHASE_NOT_AUTHORIZED' });
    const namedState = /it is (\w+)/.exec(String(answer.body.detail ?? answer.body.message ?? ''))?.[1];
    return { holdId: hold.id, action, requestedCents, answer: 'not-authorized', namedState, attempts: answer.attempts };
  }

  async function allReady(services: ServiceProcess[]): Promise<void> {
    for (const api of services) {
      await waitFor(`${api.name} ready again`, async () => {
        const response = await fetch(`${api.baseUrl}/health/ready`, { signal: AbortSignal.timeout(2_000) });
        return response.status === 200;
      });
    }
  }

  /** Every hold resolved: bounded, since expiry depends on the sweepers alone. */
  async function noHoldAuthorized(): Promise<void> {
    await waitFor(
      'every hold resolved',
      async () => (await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM holds WHERE status = 'authorized'`)[0]!.n === 0,
      EXPIRY_DEADLINE_MS,
    );
  }

  /** Each hold ended once: one release transaction, a purchase only if captured, one event of its ending. */
  async function expectEachHoldEndedOnce(holds: Hold[]) {
    const rows = await sql<{ id: string; status: string; amount: string; captured_amount: string | null; releases: number; purchases: number; purchase_price: string | null; voided_events: number; completed_events: number }[]>`
      SELECT h.id, h.status, h.amount::text, h.captured_amount::text,
             (SELECT count(*)::int FROM ledger_transactions t WHERE t.id = h.release_id) AS releases,
             (SELECT count(*)::int FROM purchases p WHERE p.id = h.id) AS purchases,
             (SELECT p.item_price::text FROM purchases p WHERE p.id = h.id) AS purchase_price,
             (SELECT count(*)::int FROM events e WHERE e.type = 'purchase.voided' AND e.data->>'id' = h.id::text) AS voided_events,
             (SELECT count(*)::int FROM events e WHERE e.type = 'purchase.completed' AND e.data->>'id' = h.id::text) AS completed_events
        FROM holds h WHERE h.id = ANY(${holds.map((h) => h.id)}::uuid[])`;
    expect(rows.length).toBe(holds.length);
    const wrong = rows.filter((row) =>
      row.status === 'captured'
        ? !(row.releases === 1 && row.purchases === 1 && row.purchase_price === row.captured_amount && row.voided_events === 0 && row.completed_events === 1)
        : !(['voided', 'expired'].includes(row.status) && row.releases === 1 && row.purchases === 0 && row.voided_events === 1 && row.completed_events === 0),
    );
    expect(wrong).toEqual([]);
    // Nothing released twice: every hold_release transaction is some hold's release.
    const [orphans] = await sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM ledger_transactions t
       WHERE t.type = 'hold_release' AND NOT EXISTS (SELECT 1 FROM holds h WHERE h.release_id = t.id)`;
    expect(orphans!.n).toBe(0);
    return new Map(rows.map((row) => [row.id, row]));
  }

  /** Every buyer has exactly its deposit less what was captured from it; the books balance. */
  async function expectMoneyExact(buyers: Party[]): Promise<void> {
    const rows = await sql<{ wallet_id: string; balance: string; held: string; captured: string }[]>`
      SELECT w.id AS wallet_id, w.balance::text, w.held_balance::text AS held,
             (SELECT coalesce(sum(h.captured_amount), 0) FROM holds h WHERE h.buyer_wallet_id = w.id AND h.status = 'captured')::text AS captured
        FROM wallets w WHERE w.id = ANY(${buyers.map((b) => b.walletId)}::uuid[])`;
    expect(rows.filter((row) => Number(row.balance) !== DEPOSIT_CENTS - Number(row.captured) || Number(row.held) !== 0)).toEqual([]);
    const books = await expectBooksBalanced(sql);
    expect(books.holds).toEqual({ authorized: 0, heldBalances: 0, account: 0 });
    const [captured] = await sql<{ cents: string; n: number }[]>`
      SELECT coalesce(sum(captured_amount), 0)::text AS cents, count(*)::int AS n FROM holds WHERE status = 'captured'`;
    expect(books.totals.purchaseVolume).toBe(Number(captured!.cents));
    expect(books.totals.purchaseCount).toBe(captured!.n);
  }

  let buyers: Party[];
  let authors: Party[];
  let totalHolds = 0;

  it('ends every hold exactly once when API processes and a worker are SIGKILLed mid-capture', async () => {
    const random = seededRandom(210);
    buyers = await Promise.all(Array.from({ length: BUYERS }, () => createParty()));
    authors = await Promise.all(Array.from({ length: BUYERS }, () => createParty()));
    for (const buyer of buyers) {
      const deposited = await untilDefinitive(() => apis, `/wallets/${buyer.walletId}/deposit`, buyer.userId, { amount: DEPOSIT_CENTS });
      expect(deposited.status).toBe(201);
    }
    const authorOf = (index: number) => authors[(index + 1 + randomInt(random, 0, BUYERS - 2)) % BUYERS]!;
    const holds: Hold[] = [];
    for (let index = 0; index < 60; index++) {
      const buyerIndex = index % BUYERS;
      // One in six with the short TTL: never captured, they expire while the processes are down.
      holds.push(await authorize(buyers[buyerIndex]!, authorOf(buyerIndex), randomInt(random, 1, 3_000), index % 6 === 5));
    }
    totalHolds += holds.length;

    // A plan per long-TTL hold, fixed before anything runs: capture all or part, void, or both racing.
    const plans = holds
      .filter((hold) => !hold.shortTtl)
      .map((hold) => {
        const roll = random();
        const part = random() < 0.5 ? undefined : randomInt(random, 1, hold.amountCents);
        return { hold, actions: roll < 0.5 ? (['capture'] as const) : roll < 0.75 ? (['void'] as const) : (['capture', 'void'] as const), part };
      });
    const resolutions: Resolution[] = [];
    // Four lanes, each resolving its plans one after another with a pause, so that many are in flight at the kill.
    const lanes = Array.from({ length: 4 }, (_, lane) =>
      (async () => {
        for (const plan of plans.filter((_, index) => index % 4 === lane)) {
          resolutions.push(...(await Promise.all(plan.actions.map((action) => resolve(plan.hold, action, action === 'capture' ? plan.part : undefined)))));
          await sleep(100 + jitter() * 200);
        }
      })(),
    );
    await waitFor('some holds resolved', async () => resolutions.length >= 8, 30_000);
    const resolvedBeforeKill = resolutions.length;
    const killedAt = Date.now();
    await Promise.all([...apis.map((api) => api.kill('SIGKILL')), workers[0]!.kill('SIGKILL')]);
    await sleep(1_000);
    await Promise.all([...apis.map((api) => api.start()), workers[0]!.start()]);
    const downMs = Date.now() - killedAt;
    await Promise.all(lanes);
    await noHoldAuthorized();

    const byId = await expectEachHoldEndedOnce(holds);
    // What each client was told is what happened: a 200 capture is that capture, a 200 void that
    // void, and a 409 names the state the hold ended in.
    const mismatches = resolutions.filter((r) => {
      const row = byId.get(r.holdId)!;
      if (r.answer === 'not-authorized') return r.namedState !== row.status;
      if (r.action === 'void') return row.status !== 'voided';
      return row.status !== 'captured' || Number(row.captured_amount) !== (r.requestedCents ?? Number(row.amount));
    });
    expect(mismatches).toEqual([]);
    // Two transitions of one hold never both succeed.
    const okPerHold = new Map<string, number>();
    for (const r of resolutions.filter((r) => r.answer === 'ok')) okPerHold.set(r.holdId, (okPerHold.get(r.holdId) ?? 0) + 1);
    expect([...okPerHold.values()].filter((n) => n > 1)).toEqual([]);
    // The short-TTL holds were not touched by any client: the sweepers expired them.
    expect(holds.filter((h) => h.shortTtl && byId.get(h.id)!.status !== 'expired')).toEqual([]);
    await expectMoneyExact(buyers);

    const count = (status: string) => [...byId.values()].filter((row) => row.status === status).length;
    // A capture that committed while its process died, retried with its key: Redis never got the
    // answer, so the retry learns of its own capture as 409 "captured" (ADR 0018: the key replays
    // only what Redis kept) and the client reads the state.
    const unreplayed = resolutions.filter((r) => r.answer === 'not-authorized' && !okPerHold.has(r.holdId)).length;
    const retried = resolutions.filter((r) => r.attempts > 1).length;
    expect(retried).toBeGreaterThan(0);
    process.stdout.write(
      `faults, holds (SIGKILL): ${holds.length} holds: ${count('captured')} captured, ${count('voided')} voided, ` +
        `${count('expired')} expired; ${resolutions.length} captures/voids (${resolvedBeforeKill} answered before the kill, ` +
        `${retried} retried with their key, ${resolutions.filter((r) => r.answer === 'not-authorized').length} lost a race or ` +
        `found the hold ended, ${unreplayed} of them with no 200 for the hold at all); processes down ${downMs} ms; ` +
        `${statuses.filter((s) => s === 'network').length} network errors, ${statuses.filter((s) => s === 503).length} 503s\n`,
    );
  });

  it('expires every hold exactly once although Redis lost all its jobs', async () => {
    const random = seededRandom(220);
    const expiredLoggedBefore = workers.map((worker) => worker.logs.length);
    const holds: Hold[] = [];
    const authorizeSome = async (n: number) => {
      for (let index = 0; index < n; index++) {
        const buyerIndex = randomInt(random, 0, BUYERS - 1);
        holds.push(await authorize(buyers[buyerIndex]!, authors[(buyerIndex + 1) % BUYERS]!, randomInt(random, 1, 3_000), true));
      }
    };
    await authorizeSome(15);
    // Every key Redis holds is gone (queues, schedulers, idempotency results) while holds wait.
    const flushed = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    expect(await flushed.flushall()).toBe('OK');
    flushed.disconnect();
    await authorizeSome(15);
    // Then Redis dies and comes back empty (no persistence).
    await redis.kill();
    await sleep(500);
    await redis.resume();
    await allReady([...apis, shortTtlApi]);
    await authorizeSome(15);
    totalHolds += holds.length;
    await noHoldAuthorized();

    const byId = await expectEachHoldEndedOnce(holds);
    expect(holds.filter((h) => byId.get(h.id)!.status !== 'expired')).toEqual([]);
    await expectMoneyExact(buyers);
    // The workers' own count of what they expired, summed: each hold once, whoever swept it.
    const expiredBy = workers.map((worker, index) =>
      worker.logs.slice(expiredLoggedBefore[index]).reduce((sum, line) => sum + (line.msg === 'expired holds voided' ? Number(line.expired) : 0), 0),
    );
    expect(expiredBy.reduce((a, b) => a + b, 0)).toBe(holds.length);
    expect([...apis, shortTtlApi, ...workers].map((s) => `${s.name} ${s.exitStatus ?? 'running'}`)).toEqual(
      [...apis, shortTtlApi, ...workers].map((s) => `${s.name} running`),
    );
    process.stdout.write(
      `faults, holds (Redis lost): ${holds.length} holds with a ${SHORT_TTL_MS} ms TTL across FLUSHALL and a Redis restart, ` +
        `all expired once (worker-1 ${expiredBy[0]}, worker-2 ${expiredBy[1]}); ${totalHolds} holds in both cases\n`,
    );
  });
});
