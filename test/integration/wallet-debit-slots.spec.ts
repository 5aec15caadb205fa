import { randomUUID } from 'node:crypto';
import type { Sql } from 'postgres';
import { createWallet, purchase, TestWallet } from '../factories/wallets.factory';
import { expectBooksBalanced } from '../setup/books';
import { randomInt, replayable, seededRandom } from '../setup/seeded';
import { PLATFORM_USER_ID, startTestApp, TestApp } from '../setup/test-app';
import { createTestDatabase, TestDatabase } from '../setup/test-database';

/**
 * wallet_debit on a hot wallet: the platform's credits go to balance slots (one per connection,
 * ADR 0013), so its row alone may not cover a debit. The debit then folds the slots into the
 * row and tries again; when that still fails it raises insufficient funds, and the raise takes
 * the fold back with it. Called through SQL, as the money functions call it.
 */

interface WalletState {
  rowCents: number;
  slots: Record<number, number>;
}

async function walletState(sql: Sql, walletId: string): Promise<WalletState> {
  const [row] = await sql<{ balance: string }[]>`SELECT balance::text FROM wallets WHERE id = ${walletId}`;
  const slots = await sql<{ slot: number; balance: string }[]>`
    SELECT slot, balance::text FROM wallet_balance_slots WHERE wallet_id = ${walletId} ORDER BY slot`;
  return {
    rowCents: Number(row!.balance),
    slots: Object.fromEntries(slots.map((slot) => [slot.slot, Number(slot.balance)])),
  };
}

/** The balance clients see: the row plus every slot. */
async function viewedBalance(sql: Sql, walletId: string): Promise<number> {
  const [view] = await sql<{ balance: string }[]>`SELECT balance::text FROM wallet_view(p_wallet_id => ${walletId})`;
  return Number(view!.balance);
}

function debit(sql: Sql, wallet: { walletId: string; userId: string }, amountCents: number) {
  return sql`
    SELECT wallet_debit(p_wallet_id => ${wallet.walletId}, p_user_id => ${wallet.userId},
                        p_amount => ${amountCents}, p_at => now())`;
}

describe('wallet_debit on a wallet whose balance is partly in slots (integration)', () => {
  let db: TestDatabase;
  /** A wallet of its own per test: 1,000 cents in the row, 500 + 250 in two slots. */
  let wallet: { walletId: string; userId: string };
  const before: WalletState = { rowCents: 1_000, slots: { 3: 500, 7: 250 } };

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });
  beforeEach(async () => {
    const userId = randomUUID();
    await db.sql`INSERT INTO users (id) VALUES (${userId})`;
    const [row] = await db.sql<{ id: string }[]>`
      INSERT INTO wallets (user_id, balance) VALUES (${userId}, ${before.rowCents}) RETURNING id`;
    wallet = { walletId: row!.id, userId };
    for (const [slot, cents] of Object.entries(before.slots)) {
      await db.sql`INSERT INTO wallet_balance_slots (wallet_id, slot, balance) VALUES (${wallet.walletId}, ${Number(slot)}, ${cents})`;
    }
  });

  it('takes a debit the row covers from the row alone, leaving the slots as they are', async () => {
    await debit(db.sql, wallet, 1_000);
    expect(await walletState(db.sql, wallet.walletId)).toEqual({ rowCents: 0, slots: before.slots });
    expect(await viewedBalance(db.sql, wallet.walletId)).toBe(750);
  });

  it('folds the slots into the row when the row alone does not cover the debit', async () => {
    await debit(db.sql, wallet, 1_600);
    expect(await walletState(db.sql, wallet.walletId)).toEqual({ rowCents: 150, slots: { 3: 0, 7: 0 } });
    expect(await viewedBalance(db.sql, wallet.walletId)).toBe(150);
  });

  it('debits the whole balance, row and slots, to zero', async () => {
    await debit(db.sql, wallet, 1_750);
    expect(await viewedBalance(db.sql, wallet.walletId)).toBe(0);
  });

  it('refuses a debit beyond row and slots with insufficient funds, and leaves row and slots unchanged', async () => {
    await expect(debit(db.sql, wallet, 1_751)).rejects.toMatchObject({ code: 'WL002' });
    expect(await walletState(db.sql, wallet.walletId)).toEqual(before);
    expect(await viewedBalance(db.sql, wallet.walletId)).toBe(1_750);
  });

  it('leaves row and slots unchanged when it fails inside a transaction that goes on', async () => {
    // The caller may catch the error at a savepoint and continue: the fold is undone with it.
    await db.sql.begin(async (tx) => {
      await expect(tx.savepoint((sp) => debit(sp as unknown as Sql, wallet, 5_000))).rejects.toMatchObject({ code: 'WL002' });
      expect(await walletState(tx as unknown as Sql, wallet.walletId)).toEqual(before);
    });
    expect(await walletState(db.sql, wallet.walletId)).toEqual(before);
  });

  it('refuses a wallet of someone else as not found, folding nothing', async () => {
    await expect(debit(db.sql, { ...wallet, userId: randomUUID() }, 1_600)).rejects.toMatchObject({ code: 'WL001' });
    expect(await walletState(db.sql, wallet.walletId)).toEqual(before);
  });
});

describe('the platform wallet debited while purchases credit its slots (integration)', () => {
  let t: TestApp;
  let platform: { walletId: string; userId: string };

  beforeAll(async () => {
    t = await startTestApp();
    const [row] = await t.db.sql<{ id: string }[]>`SELECT id FROM wallets WHERE user_id = ${PLATFORM_USER_ID}`;
    platform = { walletId: row!.id, userId: PLATFORM_USER_ID };
  });
  afterAll(async () => {
    await t.close();
  });

  /** A platform withdrawal through SQL: wallet_withdraw debits through wallet_debit and posts the entries. */
  async function withdraw(amountCents: number): Promise<'ok' | 'insufficient_funds'> {
    try {
      await t.db.sql`
        SELECT id FROM wallet_withdraw(p_withdrawal_id => ${randomUUID()}, p_user_id => ${platform.userId},
                                       p_idempotency_key => ${randomUUID()}, p_request_hash => 'test',
                                       p_wallet_id => ${platform.walletId}, p_amount => ${amountCents})`;
      return 'ok';
    } catch (error) {
      if ((error as { code?: string }).code === 'WL002') return 'insufficient_funds';
      throw error;
    }
  }

  it('keeps the books exact: every credit and every successful debit counted once, and nothing else', () =>
    replayable(async () => {
      const random = seededRandom(1);
      const buyers: TestWallet[] = await Promise.all(Array.from({ length: 6 }, () => createWallet(t.api, 1_000_000)));
      const authors: TestWallet[] = await Promise.all(Array.from({ length: 2 }, () => createWallet(t.api)));
      // A new platform wallet: its row holds nothing, so the first debits can only succeed by
      // folding slots, and later ones fold whatever was credited since.
      expect(await walletState(t.db.sql, platform.walletId)).toEqual({ rowCents: 0, slots: {} });
      expect(await withdraw(1)).toBe('insufficient_funds');

      const purchases = buyers.flatMap((buyer, index) =>
        Array.from({ length: 15 }, () => ({ buyer, author: authors[index % authors.length]!, priceCents: randomInt(random, 1, 5_000) })),
      );
      const debits = Array.from({ length: 40 }, () => randomInt(random, 1, 2_000));
      let platformCreditsCents = 0;
      let debitedCents = 0;
      const outcomes: string[] = [];
      await Promise.all([
        // Buyers in parallel: their platform legs land in the slots of the app's connections.
        ...buyers.map(async (buyer) => {
          for (const step of purchases.filter((p) => p.buyer === buyer)) {
            const response = await purchase(t.api, step.buyer, step.author, step.priceCents);
            expect(response.status).toBe(201);
            platformCreditsCents += response.body.platformAmount;
          }
        }),
        // Two debiting connections at once, against each other and against the credits.
        ...[0, 1].map(async (lane) => {
          for (const amountCents of debits.filter((_, index) => index % 2 === lane)) {
            const outcome = await withdraw(amountCents);
            outcomes.push(outcome);
            if (outcome === 'ok') debitedCents += amountCents;
          }
        }),
      ]);

      expect(outcomes).toHaveLength(debits.length);
      expect(await viewedBalance(t.db.sql, platform.walletId)).toBe(platformCreditsCents - debitedCents);
      // Everything left can still be debited, to the cent, and not a cent more.
      const left = await viewedBalance(t.db.sql, platform.walletId);
      expect(await withdraw(left + 1)).toBe('insufficient_funds');
      expect(await viewedBalance(t.db.sql, platform.walletId)).toBe(left);
      if (left > 0) expect(await withdraw(left)).toBe('ok');
      expect(await viewedBalance(t.db.sql, platform.walletId)).toBe(0);
      await expectBooksBalanced(t.db.sql);
    }));
});
