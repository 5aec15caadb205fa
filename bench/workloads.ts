import { randomInt, randomUUID } from 'node:crypto';
import { BenchRequest, BenchResponse, ClientScript, request } from './load';

export interface Party {
  userId: string;
  walletId: string;
}

export interface Fixture {
  port: number;
  buyers: Party[];
  authors: Party[];
  adminUserId: string;
}

/** The price range of the reference workload, in cents. */
export const PRICE_MIN_CENTS = 1;
export const PRICE_MAX_CENTS = 5_000;
/** Each buyer's funding: enough for far more purchases than any run makes. */
export const BUYER_FUNDING_CENTS = 1_000_000_000;

type Kind = 'purchase' | 'deposit' | 'refund';

interface SentOperation {
  kind: Kind;
  request: BenchRequest;
  amountCents: number;
  /** A replay of a purchase already counted: its outcome, answered or not, adds nothing. */
  replay?: boolean;
}

/**
 * What the service told the bench, kept across all workloads: the books check afterwards
 * compares it with the database (every 201 that was not a replay is exactly one row).
 */
export class Tally {
  readonly freshPurchaseIds = new Set<string>();
  purchaseVolumeCents = 0;
  replayedPurchases = 0;
  freshDeposits = 0;
  depositedCents = 0;
  readonly freshRefundIds = new Set<string>();
  refundedCents = 0;
  /** Sent but never answered (timeout, reset): their outcome is settled after the run. */
  readonly unanswered: SentOperation[] = [];
  /** Responses that a workload did not expect, by workload and status. */
  readonly unexpected = new Map<string, number>();

  record(operation: SentOperation, response: BenchResponse | undefined): void {
    if (response === undefined) {
      if (!operation.replay) this.unanswered.push(operation);
      return;
    }
    if (response.status !== 201) return;
    const replayed = response.headers['idempotent-replayed'] === 'true';
    if (operation.kind === 'purchase') {
      if (replayed) {
        this.replayedPurchases += 1;
        return;
      }
      const { id } = JSON.parse(response.body) as { id: string };
      if (this.freshPurchaseIds.has(id)) this.flag('purchase', 'duplicate purchase id in two fresh 201s');
      this.freshPurchaseIds.add(id);
      this.purchaseVolumeCents += operation.amountCents;
    } else if (operation.kind === 'refund') {
      if (replayed) return;
      const { id, amount } = JSON.parse(response.body) as { id: string; amount: number };
      if (this.freshRefundIds.has(id)) this.flag('refund', 'duplicate refund id in two fresh 201s');
      this.freshRefundIds.add(id);
      this.refundedCents += amount;
    } else if (!replayed) {
      this.freshDeposits += 1;
      this.depositedCents += operation.amountCents;
    }
  }

  flag(workload: string, what: string): void {
    const key = `${workload}: ${what}`;
    this.unexpected.set(key, (this.unexpected.get(key) ?? 0) + 1);
  }

  /**
   * Re-sends every unanswered request with its own key and body: a replay means the first one
   * committed, a fresh 201 means it had not (and now has, once), a 409 means still in flight.
   */
  async settleUnanswered(port: number): Promise<number> {
    const settled = this.unanswered.splice(0);
    for (const operation of settled) {
      for (let attempt = 0; ; attempt++) {
        const response = await request(port, operation.request);
        if (response.status === 409 && attempt < 50) {
          await new Promise((resolve) => setTimeout(resolve, 200));
          continue;
        }
        if (response.status === 201 && response.headers['idempotent-replayed'] === 'true') {
          // The lost response was a fresh 201: count it as such.
          this.record(operation, { ...response, headers: { ...response.headers, 'idempotent-replayed': 'false' } });
        } else {
          this.record(operation, response);
        }
        break;
      }
    }
    return settled.length;
  }
}

const pick = <T>(items: readonly T[]): T => items[randomInt(items.length)]!;

function purchaseRequest(buyer: Party, author: Party, priceCents: number, key = randomUUID()): BenchRequest {
  return {
    method: 'POST',
    path: '/purchases',
    headers: { 'X-User-Id': buyer.userId, 'Idempotency-Key': key },
    body: JSON.stringify({ buyerWalletId: buyer.walletId, authorWalletId: author.walletId, itemPrice: priceCents }),
  };
}

function depositRequest(party: Party, amountCents: number): BenchRequest {
  return {
    method: 'POST',
    path: `/wallets/${party.walletId}/deposit`,
    headers: { 'X-User-Id': party.userId, 'Idempotency-Key': randomUUID() },
    body: JSON.stringify({ amount: amountCents }),
  };
}

const randomPrice = () => randomInt(PRICE_MIN_CENTS, PRICE_MAX_CENTS + 1);

/**
 * A client script that sends money-moving requests and records every outcome in the tally.
 * `expectReplay` marks the replay workload, where a fresh 201 would be a double charge.
 */
function moneyScript(
  workload: string,
  tally: Tally,
  nextOperation: () => SentOperation,
  expectReplay = false,
): ClientScript {
  const sent = new Map<BenchRequest, SentOperation>();
  return {
    next() {
      const operation = nextOperation();
      sent.set(operation.request, operation);
      return operation.request;
    },
    done(req, response) {
      const operation = sent.get(req)!;
      sent.delete(req);
      tally.record(operation, response);
      if (response === undefined) return;
      if (response.status !== 201) {
        tally.flag(workload, `status ${response.status}`);
      } else if (expectReplay !== (response.headers['idempotent-replayed'] === 'true')) {
        tally.flag(workload, expectReplay ? '201 without Idempotent-Replayed' : 'unexpected Idempotent-Replayed');
      }
    },
  };
}

export function purchasesSpread(fixture: Fixture, tally: Tally): () => ClientScript {
  return () =>
    moneyScript('purchases-spread', tally, () => {
      const price = randomPrice();
      return { kind: 'purchase', request: purchaseRequest(pick(fixture.buyers), pick(fixture.authors), price), amountCents: price };
    });
}

export function purchasesHotAuthor(fixture: Fixture, tally: Tally): () => ClientScript {
  const hot = fixture.authors[0]!;
  return () =>
    moneyScript('purchases-hot-author', tally, () => {
      const price = randomPrice();
      return { kind: 'purchase', request: purchaseRequest(pick(fixture.buyers), hot, price), amountCents: price };
    });
}

export function deposits(fixture: Fixture, tally: Tally): () => ClientScript {
  return () =>
    moneyScript('deposits', tally, () => {
      const amount = randomPrice();
      return { kind: 'deposit', request: depositRequest(pick(fixture.buyers), amount), amountCents: amount };
    });
}

/** Replays of purchases that completed earlier: same caller, key and body, so 201 + Idempotent-Replayed. */
export function replays(originals: readonly BenchRequest[], tally: Tally): () => ClientScript {
  return () =>
    moneyScript(
      'replays',
      tally,
      () => {
        const original = pick(originals);
        return { kind: 'purchase', request: { ...original }, amountCents: 0, replay: true };
      },
      true,
    );
}

/**
 * Full refunds of earlier purchases, as the admin, each purchase once: the pool is every purchase
 * answered with a fresh 201 before this workload (topped up by `createRefundablePurchases`).
 */
export function refunds(pool: string[], fixture: Fixture, tally: Tally): () => ClientScript {
  return () =>
    moneyScript('refunds', tally, () => {
      const purchaseId = pool.pop();
      if (purchaseId === undefined) throw new Error('the refund workload ran out of purchases to refund');
      const req: BenchRequest = {
        method: 'POST',
        path: `/purchases/${purchaseId}/refunds`,
        headers: { 'X-User-Id': fixture.adminUserId, 'Idempotency-Key': randomUUID() },
        body: '{}',
      };
      return { kind: 'refund', request: req, amountCents: 0 };
    });
}

/** Purchases to refund: `count` more, over all buyers and authors, made before the workload starts. */
export async function createRefundablePurchases(fixture: Fixture, count: number, tally: Tally): Promise<void> {
  await inParallel(count, 32, async () => {
    const price = randomPrice();
    const req = purchaseRequest(pick(fixture.buyers), pick(fixture.authors), price);
    const response = await expectStatus(await request(fixture.port, req), [201], 'purchase to refund');
    tally.record({ kind: 'purchase', request: req, amountCents: price }, response);
  });
}

/** Subscribes `url` to purchase.completed as the admin (the receiver must be on this machine). */
export async function registerWebhook(fixture: Fixture, url: string): Promise<void> {
  await expectStatus(
    await request(fixture.port, {
      method: 'POST',
      path: '/webhook-endpoints',
      headers: { 'X-User-Id': fixture.adminUserId },
      body: JSON.stringify({ url, eventTypes: ['purchase.completed'], description: 'bench receiver' }),
    }),
    [201],
    'POST /webhook-endpoints',
  );
}

/** Purchases over all authors with one deposit in every five requests. */
export function mixed(fixture: Fixture, tally: Tally): () => ClientScript {
  return () =>
    moneyScript('mix', tally, () => {
      const amount = randomPrice();
      if (randomInt(5) === 0) return { kind: 'deposit', request: depositRequest(pick(fixture.buyers), amount), amountCents: amount };
      return { kind: 'purchase', request: purchaseRequest(pick(fixture.buyers), pick(fixture.authors), amount), amountCents: amount };
    });
}

/** Runs `tasks` with at most `concurrency` in flight. */
export async function inParallel<T>(count: number, concurrency: number, task: (index: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let nextIndex = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (nextIndex < count) {
        const index = nextIndex++;
        results[index] = await task(index);
      }
    }),
  );
  return results;
}

async function expectStatus(response: BenchResponse, statuses: number[], what: string): Promise<BenchResponse> {
  if (!statuses.includes(response.status)) {
    throw new Error(`${what}: expected ${statuses.join(' or ')}, got ${response.status} ${response.body}`);
  }
  return response;
}

/** Wallets for buyers and authors through the API, and every buyer funded with one deposit. */
export async function createFixture(port: number, buyerCount: number, authorCount: number, adminUserId: string, tally: Tally): Promise<Fixture> {
  const createParty = async (): Promise<Party> => {
    const userId = randomUUID();
    const response = await expectStatus(
      await request(port, { method: 'POST', path: '/wallets', headers: { 'X-User-Id': userId } }),
      [201],
      'POST /wallets',
    );
    return { userId, walletId: (JSON.parse(response.body) as { id: string }).id };
  };
  const authors = await inParallel(authorCount, 16, createParty);
  const buyers = await inParallel(buyerCount, 16, async () => {
    const buyer = await createParty();
    const deposit = depositRequest(buyer, BUYER_FUNDING_CENTS);
    const response = await expectStatus(await request(port, deposit), [201], 'funding deposit');
    tally.record({ kind: 'deposit', request: deposit, amountCents: BUYER_FUNDING_CENTS }, response);
    return buyer;
  });
  return { port, buyers, authors, adminUserId };
}

/** Completed purchases whose requests the replay workload sends again. */
export async function createReplayOriginals(fixture: Fixture, count: number, tally: Tally): Promise<BenchRequest[]> {
  return inParallel(count, 16, async () => {
    const price = randomPrice();
    const req = purchaseRequest(pick(fixture.buyers), pick(fixture.authors), price);
    const response = await expectStatus(await request(fixture.port, req), [201], 'replay original purchase');
    tally.record({ kind: 'purchase', request: req, amountCents: price }, response);
    return req;
  });
}

/** A report still queued after this long counts as a problem, not as a slow result. */
const REPORT_WAIT_LIMIT_MS = 60_000;
/** Reports requested but not yet seen completed; beyond this the requester skips a beat. */
const REPORTS_IN_FLIGHT_LIMIT = 50;

export interface ReportStats {
  available: boolean;
  requested: number;
  completed: number;
  failed: number;
  unexpected: string[];
  /** From POST to the poll that saw `completed`. */
  turnaroundMs: number[];
}

/**
 * An admin asking for the all-time financial report every `everyMs` and polling each one until
 * it completes, while the mix runs. A 404 on the first request means the reports endpoints are
 * not there (yet): the mix then runs without them and says so.
 */
export function startReportRequester(fixture: Fixture, everyMs: number, pollMs: number): { stop(): Promise<ReportStats> } {
  const stats: ReportStats = { available: true, requested: 0, completed: 0, failed: 0, unexpected: [], turnaroundMs: [] };
  const admin = { 'X-User-Id': fixture.adminUserId };
  const polls: Promise<void>[] = [];
  let stopping = false;

  const poll = async (jobId: string, startedAt: number) => {
    for (;;) {
      if (performance.now() - startedAt > REPORT_WAIT_LIMIT_MS) {
        stats.unexpected.push(`report not completed within ${REPORT_WAIT_LIMIT_MS} ms`);
        return;
      }
      const response = await request(fixture.port, { method: 'GET', path: `/reports/financial/${jobId}`, headers: admin });
      if (response.status !== 200) {
        stats.unexpected.push(`GET /reports/financial/:id ${response.status}`);
        return;
      }
      const { status } = JSON.parse(response.body) as { status: string };
      if (status === 'completed') {
        stats.completed += 1;
        stats.turnaroundMs.push(performance.now() - startedAt);
        return;
      }
      if (status === 'failed') {
        stats.failed += 1;
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, pollMs));
    }
  };

  // Requests go out on the clock, not after the previous answer, so a slow POST does not thin them out.
  let inFlight = 0;
  const requestOne = async () => {
    const startedAt = performance.now();
    const response = await request(fixture.port, { method: 'POST', path: '/reports/financial', headers: admin });
    if (response.status === 404 && stats.requested === 0) {
      stats.available = false;
      return;
    }
    stats.requested += 1;
    if (response.status === 202) {
      inFlight += 1;
      const jobId = (JSON.parse(response.body) as { jobId: string }).jobId;
      polls.push(poll(jobId, startedAt).finally(() => (inFlight -= 1)));
    } else {
      stats.unexpected.push(`POST /reports/financial ${response.status}`);
    }
  };
  const loop = (async () => {
    // The first request tells whether the endpoints exist at all.
    await requestOne();
    const posts: Promise<void>[] = [];
    while (!stopping && stats.available) {
      await new Promise((resolve) => setTimeout(resolve, everyMs));
      if (!stopping && inFlight < REPORTS_IN_FLIGHT_LIMIT) posts.push(requestOne());
    }
    await Promise.all(posts);
  })();

  return {
    async stop() {
      stopping = true;
      await loop;
      await Promise.all(polls);
      return stats;
    },
  };
}

/**
 * Purchase holds (ADR 0018): each client authorizes a purchase (`capture: false`), then captures
 * it, and again. Every capture is a purchase in the tally (its volume and id), so the books check
 * holds it to the database; the throughput of the workload is two requests per captured hold.
 */
export function holdsAuthorizeCapture(fixture: Fixture, tally: Tally): () => ClientScript {
  return () => {
    let held: { id: string; buyer: Party; priceCents: number } | undefined;
    const sent = new Map<BenchRequest, { kind: 'authorize' | 'capture'; buyer: Party; priceCents: number; holdId?: string }>();
    return {
      next() {
        if (held) {
          const req: BenchRequest = {
            method: 'POST',
            path: `/purchases/${held.id}/capture`,
            headers: { 'X-User-Id': held.buyer.userId, 'Idempotency-Key': randomUUID() },
            body: '{}',
          };
          sent.set(req, { kind: 'capture', buyer: held.buyer, priceCents: held.priceCents, holdId: held.id });
          held = undefined;
          return req;
        }
        const buyer = pick(fixture.buyers);
        const priceCents = randomPrice();
        const req: BenchRequest = {
          method: 'POST',
          path: '/purchases',
          headers: { 'X-User-Id': buyer.userId, 'Idempotency-Key': randomUUID() },
          body: JSON.stringify({ buyerWalletId: buyer.walletId, authorWalletId: pick(fixture.authors).walletId, itemPrice: priceCents, capture: false }),
        };
        sent.set(req, { kind: 'authorize', buyer, priceCents });
        return req;
      },
      done(req, response) {
        const operation = sent.get(req)!;
        sent.delete(req);
        if (response === undefined) {
          // A lost capture may have committed: the books check would then find a purchase the tally lacks.
          tally.flag('holds-authorize-capture', `unanswered ${operation.kind}`);
          return;
        }
        if (operation.kind === 'authorize') {
          if (response.status !== 201) return tally.flag('holds-authorize-capture', `authorize status ${response.status}`);
          held = { id: (JSON.parse(response.body) as { id: string }).id, buyer: operation.buyer, priceCents: operation.priceCents };
          return;
        }
        if (response.status !== 200) return tally.flag('holds-authorize-capture', `capture status ${response.status}`);
        if (tally.freshPurchaseIds.has(operation.holdId!)) tally.flag('holds-authorize-capture', 'a hold captured twice');
        tally.freshPurchaseIds.add(operation.holdId!);
        tally.purchaseVolumeCents += operation.priceCents;
      },
    };
  };
}

/** Items the split workload buys: each with three payees at 3333/3333/3334 basis points (ADR 0045). */
export const SPLIT_ITEMS = 100;

/** Sets royalty terms for `count` items as the admin, each naming three of the fixture's authors. */
export async function createSplitItems(fixture: Fixture, count: number): Promise<string[]> {
  const run = randomUUID().slice(0, 8);
  return inParallel(count, 16, async (index) => {
    const itemId = `bench-split-${run}-${index}`;
    const payees = [0, 1, 2].map((offset) => fixture.authors[(3 * index + offset) % fixture.authors.length]!);
    await expectStatus(
      await request(fixture.port, {
        method: 'PUT',
        path: `/royalty-terms/${itemId}`,
        headers: { 'X-User-Id': fixture.adminUserId },
        body: JSON.stringify({ payees: payees.map((payee, i) => ({ walletId: payee.walletId, share: i === 2 ? 3334 : 3333 })) }),
      }),
      [201],
      'PUT /royalty-terms',
    );
    return itemId;
  });
}

/** Purchases of split items (no authorWalletId: the terms name the payees), spread over the items. */
export function purchasesSplit(fixture: Fixture, itemIds: readonly string[], tally: Tally): () => ClientScript {
  return () =>
    moneyScript('purchases-split', tally, () => {
      const buyer = pick(fixture.buyers);
      const price = randomPrice();
      const req: BenchRequest = {
        method: 'POST',
        path: '/purchases',
        headers: { 'X-User-Id': buyer.userId, 'Idempotency-Key': randomUUID() },
        body: JSON.stringify({ buyerWalletId: buyer.walletId, itemId: pick(itemIds), itemPrice: price }),
      };
      return { kind: 'purchase', request: req, amountCents: price };
    });
}
