import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { createSqlClient, Database } from '../../src/db/database';
import { ExecutePurchaseCall, PurchasesRepository } from '../../src/purchases/purchases.repository';
import { WalletsRepository } from '../../src/wallets/wallets.repository';
import { expectBooksBalanced } from '../setup/books';
import '../setup/seeded';
import { createTestDatabase, TestDatabase } from '../setup/test-database';

interface Books {
  db: TestDatabase;
  database: Database;
  purchases: PurchasesRepository;
  wallets: WalletsRepository;
  platformWalletId: string;
  parties: Array<{ userId: string; walletId: string }>;
}

/** A database with a platform wallet and `count` funded wallets, reached through the repositories. */
async function openBooks(count: number, fundCents: number): Promise<Books> {
  const db = await createTestDatabase();
  const database = new Database(createSqlClient({ url: db.url, poolMax: 8 }));
  const wallets = new WalletsRepository(database);
  const platform = await wallets.createForUser(randomUUID());
  const parties = [];
  for (let i = 0; i < count; i++) {
    const userId = randomUUID();
    const { wallet } = await wallets.createForUser(userId);
    if (fundCents > 0) {
      await wallets.deposit({ operationId: randomUUID(), userId, idempotencyKey: undefined, requestHash: 'h', walletId: wallet.id, amountCents: fundCents });
    }
    parties.push({ userId, walletId: wallet.id });
  }
  return { db, database, purchases: new PurchasesRepository(database), wallets, platformWalletId: platform.wallet.id, parties };
}

async function closeBooks(books: Books): Promise<void> {
  await books.database.close();
  await books.db.drop();
}

function call(books: Books, buyer: number, author: number, priceCents: number, key = randomUUID()): ExecutePurchaseCall {
  return {
    purchaseId: randomUUID(),
    userId: books.parties[buyer]!.userId,
    idempotencyKey: key,
    requestHash: `h:${priceCents}`,
    buyerWalletId: books.parties[buyer]!.walletId,
    authorWalletId: books.parties[author]!.walletId,
    itemPriceCents: priceCents,
    royaltyPercent: 70,
    platformWalletId: books.platformWalletId,
  };
}

async function walletStates(books: Books): Promise<Array<[number, number]>> {
  const states: Array<[number, number]> = [];
  for (const party of [...books.parties, { walletId: books.platformWalletId }]) {
    const wallet = await books.wallets.findById(party.walletId);
    states.push([wallet!.balanceCents, wallet!.carryCentiCents]);
  }
  return states;
}

describe('purchase_execute_batch: one at a time and batched', () => {
  it('agree to the cent on any sequence of purchases, refusals included', async () => {
    const single = await openBooks(4, 3_000);
    const batched = await openBooks(4, 3_000);
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ buyer: fc.nat(3), author: fc.nat(3), price: fc.integer({ min: 1, max: 1_200 }) }), {
            minLength: 1,
            maxLength: 30,
          }),
          async (steps) => {
            const singleOutcomes: string[] = [];
            for (const step of steps) {
              try {
                await single.purchases.execute(call(single, step.buyer, step.author, step.price));
                singleOutcomes.push('ok');
              } catch (error) {
                singleOutcomes.push((error as Error).name);
              }
            }
            const results = await batched.purchases.executeBatch(steps.map((s) => call(batched, s.buyer, s.author, s.price)));
            const batchOutcomes = results.map((r) => (r.ok ? 'ok' : (r.error as Error).name));
            expect(batchOutcomes).toEqual(singleOutcomes);
            expect(await walletStates(batched)).toEqual(await walletStates(single));
          },
        ),
        { numRuns: 12 },
      );
      await expectBooksBalanced(single.db.sql);
      await expectBooksBalanced(batched.db.sql);
    } finally {
      await closeBooks(single);
      await closeBooks(batched);
    }
  });

  it('resolves a key raced by two batches on separate connections to one purchase and one replay', async () => {
    const books = await openBooks(4, 100_000);
    const otherDatabase = new Database(createSqlClient({ url: books.db.url, poolMax: 2 }));
    const other = new PurchasesRepository(otherDatabase);
    try {
      for (let round = 0; round < 10; round++) {
        const key = randomUUID();
        const shared = call(books, 0, 1, 500, key);
        const [a, b] = await Promise.all([
          books.purchases.executeBatch([call(books, 2, 3, 10), { ...shared, purchaseId: randomUUID() }]),
          other.executeBatch([{ ...shared, purchaseId: randomUUID() }, call(books, 3, 2, 20)]),
        ]);
        const racers = [a[1]!, b[0]!];
        expect(racers.every((r) => r.ok)).toBe(true);
        const values = racers.map((r) => (r.ok ? r.value : undefined));
        expect(values.filter((v) => v!.replayed)).toHaveLength(1);
        expect(values[0]!.id).toBe(values[1]!.id);
        expect(a[0]!.ok && b[1]!.ok).toBe(true);
      }
      const [row] = await books.db.sql`SELECT count(*)::int AS n FROM purchases WHERE buyer_wallet_id = ${books.parties[0]!.walletId}`;
      expect(row!.n).toBe(10);
      await expectBooksBalanced(books.db.sql);
    } finally {
      await otherDatabase.close();
      await closeBooks(books);
    }
  });
});

describe('wallet_deposit_batch: one at a time and batched', () => {
  it('agree to the cent on any sequence of deposits: keyed, unkeyed, replayed, to a wallet of someone else', async () => {
    const single = await openBooks(3, 0);
    const batched = await openBooks(3, 0);
    // The same (user, key) never twice in one batch (the batcher's rule); across steps it may
    // repeat, which makes the later ones replays.
    const depositCall = (books: Books, step: { owner: number; wallet: number; amount: number; key: number | null }) => ({
      operationId: randomUUID(),
      userId: books.parties[step.owner]!.userId,
      idempotencyKey: step.key === null ? undefined : `k${step.key}`,
      requestHash: `h:${step.wallet}:${step.amount}`,
      walletId: books.parties[step.wallet]!.walletId,
      amountCents: step.amount,
    });
    const outcome = (value: { replayed: boolean; wallet: { balanceCents: number } }) =>
      `${value.replayed ? 'replayed' : 'ok'}:${value.wallet.balanceCents}`;
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.uniqueArray(
            fc.record({
              owner: fc.nat(2),
              wallet: fc.nat(2),
              amount: fc.integer({ min: 1, max: 5_000 }),
              key: fc.option(fc.nat(3), { nil: null }),
            }),
            {
              minLength: 1,
              maxLength: 25,
              // An unkeyed step is its own key: each generated record is a distinct object.
              selector: (s) => (s.key === null ? s : `${s.owner}:${s.key}`),
            },
          ),
          async (steps) => {
            const singleOutcomes: string[] = [];
            for (const step of steps) {
              try {
                singleOutcomes.push(outcome(await single.wallets.deposit(depositCall(single, step))));
              } catch (error) {
                singleOutcomes.push((error as Error).name);
              }
            }
            const results = await batched.wallets.depositBatch(steps.map((step) => depositCall(batched, step)));
            expect(results.map((r) => (r.ok ? outcome(r.value) : (r.error as Error).name))).toEqual(singleOutcomes);
            expect(await walletStates(batched)).toEqual(await walletStates(single));
          },
        ),
        { numRuns: 12 },
      );
      await expectBooksBalanced(single.db.sql);
      await expectBooksBalanced(batched.db.sql);
    } finally {
      await closeBooks(single);
      await closeBooks(batched);
    }
  });

  it('resolves a key raced by two batches on separate connections to one deposit and one replay', async () => {
    const books = await openBooks(2, 0);
    const otherDatabase = new Database(createSqlClient({ url: books.db.url, poolMax: 2 }));
    const other = new WalletsRepository(otherDatabase);
    const party = books.parties[0]!;
    const deposit = (key: string | undefined, amountCents: number) => ({
      operationId: randomUUID(),
      userId: party.userId,
      idempotencyKey: key,
      requestHash: `h:${amountCents}`,
      walletId: party.walletId,
      amountCents,
    });
    try {
      for (let round = 0; round < 10; round++) {
        const key = randomUUID();
        const [a, b] = await Promise.all([
          books.wallets.depositBatch([deposit(undefined, 1), deposit(key, 100)]),
          other.depositBatch([deposit(key, 100), deposit(undefined, 2)]),
        ]);
        const racers = [a[1]!, b[0]!].map((r) => (r.ok ? r.value : undefined));
        expect(racers.filter((v) => v?.replayed)).toHaveLength(1);
        expect(racers[0]!.depositId).toBe(racers[1]!.depositId);
        expect(a[0]!.ok && b[1]!.ok).toBe(true);
      }
      expect((await books.wallets.findById(party.walletId))!.balanceCents).toBe(10 * (1 + 100 + 2));
      await expectBooksBalanced(books.db.sql);
    } finally {
      await otherDatabase.close();
      await closeBooks(books);
    }
  });
});
