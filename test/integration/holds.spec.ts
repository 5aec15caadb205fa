import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { createSqlClient, Database } from '../../src/db/database';
import { HoldActor, HoldsRepository } from '../../src/holds/holds.repository';
import { WalletsRepository } from '../../src/wallets/wallets.repository';
import { expectBooksBalanced } from '../setup/books';
import '../setup/seeded';
import { createTestDatabase, TestDatabase } from '../setup/test-database';

/**
 * Purchase holds at the SQL level (ADR 0018): authorize, capture (all or part), void and expiry,
 * each one transaction; racing transitions on separate connections end with exactly one winner,
 * and money is conserved through any sequence of them.
 */

const ROYALTY_PERCENT = 70;
const SERVICE: HoldActor = { userId: null, isAdmin: true };

interface Party {
  userId: string;
  walletId: string;
}

describe('purchase holds (integration)', () => {
  let db: TestDatabase;
  let database: Database;
  let wallets: WalletsRepository;
  let holds: HoldsRepository;
  let platformWalletId: string;

  beforeAll(async () => {
    db = await createTestDatabase();
    database = new Database(createSqlClient({ url: db.url, poolMax: 12 }));
    wallets = new WalletsRepository(database);
    holds = new HoldsRepository(database);
    platformWalletId = (await wallets.createForUser(randomUUID())).wallet.id;
  });
  afterAll(async () => {
    await expectBooksBalanced(database.sql);
    await database.close();
    await db.drop();
  });

  async function party(fundCents = 0): Promise<Party> {
    const userId = randomUUID();
    const { wallet } = await wallets.createForUser(userId);
    if (fundCents > 0) {
      await wallets.deposit({ operationId: randomUUID(), userId, idempotencyKey: undefined, requestHash: 'h', walletId: wallet.id, amountCents: fundCents });
    }
    return { userId, walletId: wallet.id };
  }

  async function state(p: Party): Promise<{ balance: number; held: number; carry: number }> {
    const [row] = await database.sql<{ balance: string; held_balance: string; fractional_balance: number }[]>`
      SELECT balance, held_balance, fractional_balance FROM wallets WHERE id = ${p.walletId}`;
    return { balance: Number(row!.balance), held: Number(row!.held_balance), carry: row!.fractional_balance };
  }

  async function authorize(buyer: Party, author: Party, amountCents: number, expiresInMs = 60_000) {
    const result = await holds.authorize({
      holdId: randomUUID(),
      authorizationId: randomUUID(),
      userId: buyer.userId,
      idempotencyKey: randomUUID(),
      requestHash: `h:${amountCents}`,
      buyerWalletId: buyer.walletId,
      authorWalletId: author.walletId,
      amountCents,
      expiresAt: new Date(Date.now() + expiresInMs),
    });
    if (result.outcome !== 'authorized') throw new Error(`authorize: ${result.outcome}`);
    return result.hold;
  }

  const capture = (holdId: string, actor: HoldActor, amountCents?: number) =>
    holds.capture({ holdId, releaseId: randomUUID(), amountCents, actor, royaltyPercent: ROYALTY_PERCENT, platformWalletId });
  const voidHold = (holdId: string, actor: HoldActor) => holds.release({ holdId, releaseId: randomUUID(), status: 'voided', actor });
  const expire = (holdId: string) => holds.release({ holdId, releaseId: randomUUID(), status: 'expired', actor: SERVICE });

  it('authorize holds the price out of the balance; a partial capture splits it then and releases the rest', async () => {
    const buyer = await party(1_000);
    const author = await party();
    const hold = await authorize(buyer, author, 300);
    expect(hold).toMatchObject({ status: 'authorized', itemPrice: 300, authorAmount: null, platformAmount: null });
    expect(await state(buyer)).toEqual({ balance: 700, held: 300, carry: 0 });

    const owner = { userId: buyer.userId, isAdmin: false };
    expect((await capture(hold.id, owner, 301)).outcome).toBe('exceeds_hold');
    expect((await capture(hold.id, { userId: randomUUID(), isAdmin: false })).outcome).toBe('hold_not_found');
    const captured = await capture(hold.id, owner, 99);
    expect(captured).toMatchObject({ outcome: 'captured', hold: { status: 'captured' } });
    expect(await state(buyer)).toEqual({ balance: 901, held: 0, carry: 0 });
    // The split happened at capture, with the author's carry as it was then: 99 * 70 = 69.30 cents.
    expect(await state(author)).toEqual({ balance: 69, held: 0, carry: 30 });
    const [purchase] = await database.sql<{ item_price: string; author_amount: string }[]>`
      SELECT item_price, author_amount FROM purchases WHERE id = ${hold.id}`;
    expect(purchase).toEqual({ item_price: '99', author_amount: '69' });

    expect((await capture(hold.id, owner)).outcome).toBe('not_authorized');
    expect((await voidHold(hold.id, owner)).outcome).toBe('not_authorized');
    await expectBooksBalanced(database.sql);
  });

  it('void gives the money back; expiry waits for expiresAt and then gives it back; neither happens twice', async () => {
    const buyer = await party(500);
    const author = await party();
    const voided = await authorize(buyer, author, 200);
    expect((await voidHold(voided.id, { userId: buyer.userId, isAdmin: false })).outcome).toBe('released');
    expect(await state(buyer)).toEqual({ balance: 500, held: 0, carry: 0 });
    expect((await voidHold(voided.id, { userId: buyer.userId, isAdmin: false })).outcome).toBe('not_authorized');

    const later = await authorize(buyer, author, 100, 60_000);
    expect((await expire(later.id)).outcome).toBe('not_expired');
    const due = await authorize(buyer, author, 150, -1);
    expect(await holds.dueHoldIds(1_000)).toContain(due.id);
    expect((await capture(due.id, { userId: buyer.userId, isAdmin: false })).outcome).toBe('not_authorized');
    expect(await expire(due.id)).toMatchObject({ outcome: 'released', hold: { status: 'expired' } });
    expect(await holds.dueHoldIds(1_000)).not.toContain(due.id);
    expect(await state(buyer)).toEqual({ balance: 400, held: 100, carry: 0 });
    expect((await voidHold(later.id, { userId: randomUUID(), isAdmin: true })).outcome).toBe('released');
    await expectBooksBalanced(database.sql);
  });

  it('capture, void and expiry racing at the expiry instant: exactly one wins each hold', async () => {
    const buyer = await party(100_000);
    const author = await party();
    const owner = { userId: buyer.userId, isAdmin: false };
    const expiresInMs = 400;
    const racing = await Promise.all(Array.from({ length: 10 }, () => authorize(buyer, author, 1_000, expiresInMs)));
    // Fire every transition of every hold around the expiry instant, on separate connections.
    await new Promise((resolve) => setTimeout(resolve, expiresInMs - 20));
    const results = await Promise.all(
      racing.flatMap((hold) => [capture(hold.id, owner), voidHold(hold.id, owner), expire(hold.id), capture(hold.id, owner)]),
    );
    for (let i = 0; i < racing.length; i++) {
      const outcomes = results.slice(i * 4, i * 4 + 4).map((result) => result.outcome);
      expect(outcomes.filter((outcome) => outcome === 'captured' || outcome === 'released')).toHaveLength(1);
    }
    const winners = results.filter((result) => result.outcome === 'captured' || result.outcome === 'released');
    const capturedCents = winners.filter((result) => result.outcome === 'captured').length * 1_000;
    expect(await state(buyer)).toEqual({ balance: 100_000 - capturedCents, held: 0, carry: 0 });
    await expectBooksBalanced(database.sql);
  });

  it('conserves money through any sequence of authorizations, captures, voids and expiries (property)', async () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('authorize' as const), amount: fc.integer({ min: 1, max: 700 }), due: fc.boolean() }),
      fc.record({ kind: fc.constantFrom('capture' as const, 'void' as const, 'expire' as const), pick: fc.nat(), part: fc.integer({ min: 1, max: 700 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 10 }), async (steps) => {
        const buyer = await party(2_000);
        const author = await party();
        const owner = { userId: buyer.userId, isAdmin: false };
        let balance = 2_000;
        let held = 0;
        const open = new Map<string, { amount: number; due: boolean }>();
        const closed: string[] = [];
        for (const s of steps) {
          if (s.kind === 'authorize') {
            if (s.amount > balance) continue;
            const hold = await authorize(buyer, author, s.amount, s.due ? -1 : 60_000);
            open.set(hold.id, { amount: s.amount, due: s.due });
            balance -= s.amount;
            held += s.amount;
            continue;
          }
          const ids = [...open.keys(), ...closed];
          if (ids.length === 0) continue;
          const id = ids[s.pick % ids.length]!;
          const pending = open.get(id);
          const result = s.kind === 'capture' ? await capture(id, owner, s.part) : s.kind === 'void' ? await voidHold(id, owner) : await expire(id);
          if (!pending) {
            expect(result.outcome).toBe('not_authorized');
            continue;
          }
          const expected =
            s.kind === 'capture'
              ? pending.due ? 'not_authorized' : s.part > pending.amount ? 'exceeds_hold' : 'captured'
              : s.kind === 'expire' && !pending.due ? 'not_expired' : 'released';
          expect(result.outcome).toBe(expected);
          if (expected === 'captured' || expected === 'released') {
            balance += pending.amount - (expected === 'captured' ? s.part : 0);
            held -= pending.amount;
            open.delete(id);
            closed.push(id);
          }
          expect(await state(buyer)).toMatchObject({ balance, held });
        }
      }),
      { numRuns: 20 },
    );
    await expectBooksBalanced(database.sql);
  });
});
