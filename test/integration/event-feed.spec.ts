import { randomUUID } from 'node:crypto';
import postgres, { Sql } from 'postgres';
import { Database } from '../../src/db/database';
import { FEED_START, FeedPosition } from '../../src/events/event-cursor';
import { EventsRepository } from '../../src/events/events.repository';
import { createTestDatabase, TestDatabase } from '../setup/test-database';
import { randomInt, replayable, seededRandom } from '../setup/seeded';

/**
 * The feed never skips an event when transactions commit out of order (ADR 0030). Writers are
 * real deposits (wallet_deposit_batch, which appends the event in its own transaction) on
 * connections of their own, held open on purpose while a consumer follows nextCursor.
 */
describe('event feed under out-of-order commits', () => {
  let db: TestDatabase;
  let database: Database;
  let feed: EventsRepository;
  const writers: Sql[] = [];

  beforeAll(async () => {
    db = await createTestDatabase();
    database = new Database(postgres(db.url, { max: 4, onnotice: () => undefined }));
    feed = new EventsRepository(database);
    // Each writer on its own stat slot: two backends sharing one would queue on the slot's
    // running-totals row, and a writer held open would then block the next one for good.
    const slots = new Set<number>();
    while (writers.length < 6) {
      const writer = postgres(db.url, { max: 1, onnotice: () => undefined });
      const [{ slot } = { slot: -1 }] = await writer<{ slot: number }[]>`SELECT stat_slot() AS slot`;
      if (slots.has(slot)) {
        await writer.end({ timeout: 5 });
        continue;
      }
      slots.add(slot);
      writers.push(writer);
    }
  });

  afterAll(async () => {
    await Promise.all(writers.map((writer) => writer.end({ timeout: 5 })));
    await database.close();
    await db.drop();
  });

  async function newWallet(): Promise<{ walletId: string; userId: string }> {
    const userId = randomUUID();
    await db.sql`INSERT INTO users (id) VALUES (${userId})`;
    const [wallet] = await db.sql<{ id: string }[]>`INSERT INTO wallets (user_id) VALUES (${userId}) RETURNING id`;
    return { walletId: wallet!.id, userId };
  }

  /** One deposit inside the open transaction `tx`; its event is appended there too. */
  async function depositIn(tx: postgres.TransactionSql, wallet: { walletId: string; userId: string }): Promise<string> {
    const id = randomUUID();
    const [row] = await tx<{ outcome: string }[]>`
      SELECT outcome FROM wallet_deposit_batch(
        p_deposit_ids => ${[id]}::uuid[], p_user_ids => ${[wallet.userId]}::uuid[],
        p_idempotency_keys => ${[randomUUID()]}::text[], p_request_hashes => ${['h']}::text[],
        p_wallet_ids => ${[wallet.walletId]}::uuid[], p_amounts_cents => ${['100']}::bigint[])`;
    expect(row?.outcome).toBe('completed');
    return id;
  }

  /** A consumer: reads pages from `position` until one comes back empty; returns the event ids. */
  async function follow(position: FeedPosition, seen: string[]): Promise<FeedPosition> {
    for (let page = 0; page < 10_000; page++) {
      const read = await feed.feedPage({ after: position, limit: 3, types: undefined, walletId: undefined, scanMax: 2_000 });
      seen.push(...read.rows.map((row) => row.id));
      position = read.position;
      if (read.rows.length === 0) return position;
    }
    throw new Error('the feed never ran dry');
  }

  /** Holds a transaction open until `release` resolves; `inside` runs in it first. */
  function openTransaction<T>(writer: Sql, inside: (tx: postgres.TransactionSql) => Promise<T>) {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let ready!: (value: T) => void;
    const started = new Promise<T>((resolve) => (ready = resolve));
    const committed = writer.begin(async (tx) => {
      ready(await inside(tx));
      await released;
    });
    return { started, commit: async () => (release(), await committed) };
  }

  /** What a naive reader ("seq greater than the last seen") gets now. */
  async function naiveRead(afterSeq: string): Promise<{ ids: string[]; lastSeq: string }> {
    const rows = await db.sql<{ id: string; seq: string }[]>`SELECT id, seq::text FROM events WHERE seq > ${afterSeq}::bigint ORDER BY seq`;
    return { ids: rows.map((row) => row.id), lastSeq: rows.length > 0 ? rows[rows.length - 1]!.seq : afterSeq };
  }

  it('the later event committing first: held back until the earlier one commits, then both, each once', async () => {
    const a = await newWallet();
    const b = await newWallet();
    const seen: string[] = [];
    let position = await follow(FEED_START, seen);
    const before = seen.length;
    let naive = await naiveRead('0');

    // A appends its event first (lower seq) but commits last; B appends later and commits first.
    const first = openTransaction(writers[0]!, (tx) => depositIn(tx, a));
    await first.started;
    const second = openTransaction(writers[1]!, (tx) => depositIn(tx, b));
    await second.started;
    await second.commit();

    // The naive reader takes B and moves past A's seq; the feed returns nothing while A is in flight.
    naive = await naiveRead(naive.lastSeq);
    expect(naive.ids).toHaveLength(1);
    position = await follow(position, seen);
    expect(seen.slice(before)).toEqual([]);

    await first.commit();
    // A is committed now, but the naive reader never sees it: that is the skip the fence prevents.
    expect((await naiveRead(naive.lastSeq)).ids).toEqual([]);
    await follow(position, seen);
    const emitted = await db.sql<{ id: string; wallet_id: string }[]>`
      SELECT id, wallet_id FROM events WHERE wallet_id IN (${a.walletId}::uuid, ${b.walletId}::uuid) ORDER BY xid, seq`;
    expect(seen.slice(before)).toEqual(emitted.map((event) => event.id));
    expect(emitted.map((event) => event.wallet_id)).toEqual([a.walletId, b.walletId]);
  });

  it('a transaction that took its id first but wrote its event last comes first in the feed', async () => {
    const a = await newWallet();
    const b = await newWallet();
    const seen: string[] = [];
    let position = await follow(FEED_START, seen);
    const before = seen.length;

    const first = openTransaction(writers[0]!, async (tx) => {
      await tx`SELECT pg_current_xact_id()`;
      return tx;
    });
    const firstTx = await first.started;
    const second = openTransaction(writers[1]!, (tx) => depositIn(tx, b));
    await second.started;
    await depositIn(firstTx, a);
    await second.commit();

    position = await follow(position, seen);
    expect(seen.slice(before)).toEqual([]);
    await first.commit();
    await follow(position, seen);
    const emitted = await db.sql<{ id: string; wallet_id: string }[]>`
      SELECT id, wallet_id FROM events WHERE wallet_id IN (${a.walletId}::uuid, ${b.walletId}::uuid) ORDER BY xid, seq`;
    expect(seen.slice(before)).toEqual(emitted.map((event) => event.id));
    // A's event has the higher seq, but its transaction is older: it comes first.
    expect(emitted.map((event) => event.wallet_id)).toEqual([a.walletId, b.walletId]);
  });

  it('a consumer following the cursor while writers commit in random order sees every event exactly once', async () => {
    await replayable(async () => {
      const random = seededRandom(15);
      const wallets = await Promise.all(writers.map(() => newWallet()));
      const seen: string[] = [];
      let position = await follow(FEED_START, seen);
      const start = seen.length;
      const [{ count: existing } = { count: 0 }] = await db.sql<{ count: number }[]>`SELECT count(*)::int AS count FROM events`;

      // Rounds: every writer opens a transaction and deposits; they commit in a shuffled order,
      // and the consumer reads between commits.
      const rounds = 12;
      for (let round = 0; round < rounds; round++) {
        const open = writers.map((writer, index) =>
          openTransaction(writer, async (tx) => {
            const count = randomInt(random, 1, 2);
            for (let i = 0; i < count; i++) await depositIn(tx, wallets[index]!);
          }),
        );
        // Started one after the other, so transaction ids and event seqs rise in writer order.
        for (const transaction of open) await transaction.started;
        const order = open.map((transaction, index) => ({ transaction, key: random(), index })).sort((x, y) => x.key - y.key);
        for (const { transaction } of order) {
          await transaction.commit();
          position = await follow(position, seen);
        }
      }
      // The fence skips transactions running in other databases, but not one that ended while the
      // feed read (events_feed_fence: it cannot be told from ours): a neighbouring test's may hold
      // back the newest events for a moment, here and at FEED_START above. So the consumer, which
      // started at FEED_START, follows until it has caught up, and is compared over the whole feed.
      const all = await db.sql<{ id: string }[]>`SELECT id FROM events ORDER BY xid, seq`;
      for (let attempt = 0; attempt < 200 && seen.length < all.length; attempt++) {
        position = await follow(position, seen);
        if (seen.length < all.length) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toEqual(all.map((row) => row.id));
      expect(all.length - existing).toBeGreaterThanOrEqual(rounds * writers.length);
      expect(seen.length - start).toBeGreaterThanOrEqual(rounds * writers.length);
    });
  });

  it('a type filter moves the cursor past events of other types without returning them', async () => {
    const wallet = await newWallet();
    await writers[0]!.begin((tx) => depositIn(tx, wallet));
    const page = await feed.feedPage({ after: FEED_START, limit: 10, types: ['withdrawal.created'], walletId: undefined, scanMax: 2_000 });
    expect(page.rows).toEqual([]);
    const [last] = await db.sql<{ xid: string; seq: string }[]>`SELECT xid::text, seq::text FROM events ORDER BY xid DESC, seq DESC LIMIT 1`;
    expect(page.position).toEqual({ xid: last!.xid, seq: last!.seq });
  });

  it('events are append-only', async () => {
    await expect(db.sql`UPDATE events SET type = type`).rejects.toThrow(/append-only/);
    await expect(db.sql`DELETE FROM events`).rejects.toThrow(/append-only/);
    await expect(db.sql`TRUNCATE events CASCADE`).rejects.toThrow(/append-only/);
  });
});
