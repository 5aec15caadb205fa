import { randomUUID } from 'node:crypto';
import type { Sql } from 'postgres';
import { expectBooksBalanced } from '../setup/books';
import { randomInt, seededRandom } from '../setup/seeded';
import { sleep } from './postgres-nodes';

/** No request may take longer than this; during a failover the service answers 503, it does not hang. */
const REQUEST_TIMEOUT_MS = 10_000;
/** A client gives up on one key after this long (it would then be reported as abandoned). */
const KEY_DEADLINE_MS = 60_000;

type Operation = 'deposit' | 'withdrawal' | 'purchase';

interface Acknowledged {
  operation: Operation;
  key: string;
  id: string;
  amountCents: number;
  /** When the attempt that was acknowledged was sent (unknown for one recorded from outside), and when its answer came. */
  sentAt?: number;
  at: number;
}

interface Observation {
  phase: string;
  at: number;
  status: number | 'timeout' | 'network';
  /** For a 5xx: whether it is the 503 problem the contract promises. */
  problemOk?: boolean;
  body?: string;
}

export interface Client {
  userId: string;
  walletId: string;
}

/**
 * A bounded purchase/deposit/withdrawal load on the service at `baseUrl`: each client retries
 * a failed or unanswered request with the same Idempotency-Key until it gets a definitive
 * answer. Records what was acknowledged, and every answer, so that a failover can be judged:
 * no acknowledged operation lost, none twice, no 500, and how long writes stopped.
 */
export class MoneyLoad {
  phase = 'startup';
  private stopping = false;
  private running: Promise<unknown> | undefined;
  readonly acknowledged: Acknowledged[] = [];
  readonly observations: Observation[] = [];
  readonly abandoned: string[] = [];
  private readonly jitter = seededRandom(201);
  /** The load's clients, once started: each owns one wallet. */
  clients: Client[] = [];

  constructor(
    private readonly baseUrl: () => string,
    private readonly clientCount = 4,
  ) {}

  private async call(method: string, path: string, userId: string, key?: string, body?: unknown) {
    const headers: Record<string, string> = { 'x-user-id': userId };
    if (key) headers['idempotency-key'] = key;
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      const response = await fetch(`${this.baseUrl()}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await response.text();
      const observation: Observation = { phase: this.phase, at: Date.now(), status: response.status };
      if (response.status >= 500) {
        observation.body = text.slice(0, 300);
        observation.problemOk =
          response.status === 503 &&
          (response.headers.get('content-type') ?? '').includes('application/problem+json') &&
          (JSON.parse(text) as { code?: string }).code === 'SERVICE_UNAVAILABLE';
      }
      this.observations.push(observation);
      return { status: response.status, body: text.startsWith('{') ? JSON.parse(text) : text };
    } catch (error) {
      const timedOut = (error as Error).name === 'TimeoutError';
      this.observations.push({ phase: this.phase, at: Date.now(), status: timedOut ? 'timeout' : 'network' });
      return undefined;
    }
  }

  private async submit(operation: Operation, userId: string, path: string, body: Record<string, unknown>, amountCents: number) {
    const key = randomUUID();
    const deadline = Date.now() + KEY_DEADLINE_MS;
    while (Date.now() < deadline) {
      const sentAt = Date.now();
      const response = await this.call('POST', path, userId, key, body);
      if (response && response.status >= 200 && response.status < 300) {
        this.acknowledged.push({ operation, key, id: response.body.id as string, amountCents, sentAt, at: Date.now() });
        return;
      }
      // 402 INSUFFICIENT_FUNDS is a definitive answer; so is any other 4xx except 409 (still in flight).
      if (response && response.status >= 400 && response.status < 500 && response.status !== 409) {
        if (response.status !== 402) this.abandoned.push(`${operation} ${key}: ${response.status} ${JSON.stringify(response.body)}`);
        return;
      }
      await sleep(50 + this.jitter() * 100);
    }
    this.abandoned.push(`${operation} ${key}: no definitive answer within ${KEY_DEADLINE_MS} ms`);
  }

  private async createClient(): Promise<Client> {
    const userId = randomUUID();
    for (let attempt = 1; attempt <= 100; attempt++) {
      const response = await this.call('POST', '/wallets', userId);
      if (response && (response.status === 201 || response.status === 200)) return { userId, walletId: response.body.id as string };
      await sleep(100);
    }
    throw new Error('could not create a wallet');
  }

  /** Creates the clients, funds them, and starts the load in the background. */
  async start(): Promise<void> {
    const clients = await Promise.all(Array.from({ length: this.clientCount }, () => this.createClient()));
    this.clients = clients;
    await Promise.all(clients.map((client) => this.submit('deposit', client.userId, `/wallets/${client.walletId}/deposit`, { amount: 500_000 }, 500_000)));
    this.phase = 'steady';
    this.running = Promise.all(
      clients.map(async (client, index) => {
        const random = seededRandom(300 + index);
        while (!this.stopping) {
          const author = clients[(index + randomInt(random, 1, clients.length - 1)) % clients.length]!;
          const roll = random();
          if (roll < 0.6) {
            const price = randomInt(random, 1, 3_000);
            await this.submit('purchase', client.userId, '/purchases', { buyerWalletId: client.walletId, authorWalletId: author.walletId, itemPrice: price }, price);
          } else if (roll < 0.8) {
            const amount = randomInt(random, 1, 5_000);
            await this.submit('deposit', client.userId, `/wallets/${client.walletId}/deposit`, { amount }, amount);
          } else {
            const amount = randomInt(random, 1, 2_000);
            await this.submit('withdrawal', client.userId, `/wallets/${client.walletId}/withdrawals`, { amount }, amount);
          }
        }
      }),
    );
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
    this.phase = 'done';
  }

  /** Acknowledgements at or after `since` (ms epoch). */
  acknowledgedSince(since: number): number {
    return this.acknowledged.filter((ack) => ack.at >= since).length;
  }

  /**
   * How long writes stopped: from `since` (the fault) until the first acknowledgement of a request
   * sent after it (a request already in flight may still be answered by the old server).
   */
  async outageFrom(since: number, timeoutMs: number): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const first = this.acknowledged.find((ack) => (ack.sentAt ?? ack.at) > since);
      if (first) return first.at - since;
      await sleep(20);
    }
    throw new Error(`no operation acknowledged within ${timeoutMs} ms after the fault`);
  }

  /**
   * How long writes stopped around a fault: the longest time between two consecutive
   * acknowledgements (by when they were answered) from the last one before `from` to `to`.
   */
  longestPause(from: number, to: number): number {
    const times = this.acknowledged.map((ack) => ack.at).sort((a, b) => a - b);
    const before = times.filter((at) => at < from).pop() ?? from;
    const window = [before, ...times.filter((at) => at >= from && at <= to)];
    let longest = 0;
    for (let index = 1; index < window.length; index++) longest = Math.max(longest, window[index]! - window[index - 1]!);
    return longest;
  }

  /** Counts of answers by phase and status, for the printed summary. */
  summary(): Record<string, Record<string, number>> {
    const byPhase: Record<string, Record<string, number>> = {};
    for (const observation of this.observations) {
      const phase = (byPhase[observation.phase] ??= {});
      phase[String(observation.status)] = (phase[String(observation.status)] ?? 0) + 1;
    }
    return byPhase;
  }

  /**
   * Judges the run against the database on the (new) primary: every acknowledged key stored
   * once with its id, nothing stored that was not acknowledged, no 500 and no hang, the books exact.
   */
  async verify(sql: Sql): Promise<void> {
    expect(this.abandoned).toEqual([]);
    expect(this.observations.filter((o) => o.status === 'timeout')).toEqual([]);
    expect(this.observations.filter((o) => o.problemOk === false)).toEqual([]);
    const keysOf = (operation: Operation) => this.acknowledged.filter((a) => a.operation === operation).map((a) => a.key).sort();
    const purchases = await sql<{ id: string; idempotency_key: string }[]>`SELECT id, idempotency_key FROM purchases`;
    const withdrawals = await sql<{ id: string; idempotency_key: string }[]>`SELECT id, idempotency_key FROM withdrawals`;
    const deposits = await sql<{ idempotency_key: string | null }[]>`SELECT idempotency_key FROM deposits`;
    const sorted = (rows: { idempotency_key: string | null }[]) => rows.map((row) => row.idempotency_key).sort();
    // Clients retried until a definitive answer: what is stored is exactly what was acknowledged.
    expect(sorted(purchases)).toEqual(keysOf('purchase'));
    expect(sorted(withdrawals)).toEqual(keysOf('withdrawal'));
    expect(sorted(deposits)).toEqual(keysOf('deposit'));
    const storedIds = new Set([...purchases, ...withdrawals].map((row) => row.id));
    for (const ack of this.acknowledged) {
      if (ack.operation !== 'deposit') expect(storedIds.has(ack.id)).toBe(true);
    }
    await expectBooksBalanced(sql);
  }
}
