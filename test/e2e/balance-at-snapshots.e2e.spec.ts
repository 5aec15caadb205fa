import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { PositionSnapshotsRepository } from '../../src/wallets/position-snapshots';
import { createWallet, deposit, purchase, refund, TestWallet } from '../factories/wallets.factory';
import { randomInt, replayable, seededRandom } from '../setup/seeded';
import { ADMIN_USER_ID, startTestApp, TestApp } from '../setup/test-app';

/**
 * balance?at= answered from position snapshots (ADR 0068): equal to the brute-force sums of the
 * ledger and the royalty identity at any instant, with snapshots and without, at and around
 * their instants; never missing a transaction that was open while a snapshot was taken; and a
 * tampered snapshot found and removed by reconciliation.
 */
describe('balance at an instant from position snapshots (e2e)', () => {
  let t: TestApp;
  let snapshots: PositionSnapshotsRepository;

  beforeAll(async () => {
    t = await startTestApp();
    snapshots = t.app.get(PositionSnapshotsRepository);
  });
  afterAll(async () => {
    await t.close();
  });

  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  /** The fence stays a second behind the sweep's start: wait past it so the sweep covers what came before. */
  const pastTheFence = () => pause(1_100);

  /** The definition, summed over the whole history (what ADR 0046 answered with). */
  async function bruteForce(walletId: string, at: Date): Promise<{ balance: number; fractionalBalance: number }> {
    const atText = at.toISOString();
    const [row] = await t.db.sql<{ balance: string; carry: string }[]>`
      SELECT (SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e
               WHERE e.wallet_id = ${walletId} AND e.created_at <= ${atText}::timestamptz)::text AS balance,
             (SELECT coalesce(sum(f.owed) - 100 * sum(f.credited), 0) FROM (
                SELECT p.item_price * p.royalty_percent AS owed, p.author_amount AS credited FROM purchases p
                 WHERE p.author_wallet_id = ${walletId} AND p.royalty_terms_version IS NULL AND p.created_at <= ${atText}::timestamptz
                UNION ALL
                SELECT -r.amount * r.royalty_percent, -r.author_amount FROM refunds r JOIN purchases p ON p.id = r.purchase_id
                 WHERE p.author_wallet_id = ${walletId} AND p.royalty_terms_version IS NULL AND r.created_at <= ${atText}::timestamptz
                UNION ALL
                SELECT x.part_centi_cents, x.amount_cents FROM purchase_payees x
                 WHERE x.wallet_id = ${walletId} AND x.created_at <= ${atText}::timestamptz
                UNION ALL
                SELECT -x.part_centi_cents, -x.amount_cents FROM refund_payees x
                 WHERE x.wallet_id = ${walletId} AND x.created_at <= ${atText}::timestamptz) f)::text AS carry`;
    return { balance: Number(row!.balance), fractionalBalance: Number(row!.carry) };
  }

  async function balanceAt(wallet: TestWallet, at: Date): Promise<{ balance: number; fractionalBalance: number }> {
    const response = await t.api.get(`/wallets/${wallet.id}/balance?at=${encodeURIComponent(at.toISOString())}`, { userId: wallet.userId });
    expect(response.status).toBe(200);
    return { balance: response.body.balance, fractionalBalance: response.body.fractionalBalance };
  }

  async function snapshotInstants(walletId: string): Promise<Date[]> {
    const rows = await t.db.sql<{ as_of: Date }[]>`
      SELECT as_of FROM wallet_position_snapshots WHERE wallet_id = ${walletId} ORDER BY as_of`;
    return rows.map((row) => new Date(row.as_of));
  }

  it('equals the brute-force sums at random instants, with snapshots and without, across their boundaries, split sales included', async () => {
    await replayable(async () => {
      const random = seededRandom(68);
      const author = await createWallet(t.api);
      const coAuthor = await createWallet(t.api);
      const buyers = [await createWallet(t.api, 100_000), await createWallet(t.api, 100_000)];
      // An item split between the two (ADR 0045): its sales and refunds are payee rows.
      const itemId = `split-${randomUUID()}`;
      const terms = await t.api.request('PUT', `/royalty-terms/${encodeURIComponent(itemId)}`, {
        userId: ADMIN_USER_ID,
        body: { payees: [{ walletId: author.id, share: 4_000 }, { walletId: coAuthor.id, share: 6_000 }] },
      });
      expect(terms.status).toBeLessThan(300);
      const sales: string[] = [];
      const marks: Date[] = [new Date()];
      // Three phases, each swept after it: snapshots every 3 postings land inside the history.
      for (let phase = 0; phase < 3; phase += 1) {
        for (let step = 0; step < 14; step += 1) {
          const choice = random();
          const buyer = buyers[randomInt(random, 0, 1)]!;
          if (choice < 0.4) {
            // Odd prices at 70% leave carries, so the carry is tested, not only the balance.
            const sale = await purchase(t.api, buyer, author, randomInt(random, 1, 999));
            expect(sale.status).toBe(201);
            sales.push(sale.body.id);
          } else if (choice < 0.55) {
            const sale = await t.api.post('/purchases', {
              userId: buyer.userId,
              idempotencyKey: randomUUID(),
              body: { buyerWalletId: buyer.id, itemId, itemPrice: randomInt(random, 1, 999) },
            });
            expect(sale.status).toBe(201);
            sales.push(sale.body.id);
          } else if (choice < 0.75 && sales.length > 0) {
            const saleId = sales[randomInt(random, 0, sales.length - 1)]!;
            // Small refunds too: a refund within the carry moves no cent, only the carry.
            const response = await refund(t.api, ADMIN_USER_ID, saleId, { amount: randomInt(random, 1, 3) });
            expect([201, 422]).toContain(response.status);
          } else {
            await deposit(t.api, random() < 0.5 ? author : buyer, randomInt(random, 1, 500));
          }
          marks.push(new Date());
        }
        await pastTheFence();
        const sweep = await snapshots.sweep({ minPostings: 3 });
        expect(sweep.snapshotsTaken).toBeGreaterThan(0);
        marks.push(new Date());
      }

      const [payeeRows] = await t.db.sql<{ count: string }[]>`SELECT count(*)::text AS count FROM purchase_payees WHERE wallet_id = ${coAuthor.id}`;
      expect(Number(payeeRows!.count)).toBeGreaterThan(0);
      const instants = await snapshotInstants(author.id);
      expect(instants.length).toBeGreaterThanOrEqual(3);
      const probes: Date[] = [...marks];
      for (const asOf of instants) probes.push(new Date(asOf.getTime() - 1), asOf, new Date(asOf.getTime() + 1));
      const first = marks[0]!.getTime();
      const span = marks[marks.length - 1]!.getTime() - first;
      for (let i = 0; i < 40; i += 1) probes.push(new Date(first + Math.floor(random() * span)));

      const wallets = [author, coAuthor, ...buyers];
      const withSnapshots = await Promise.all(
        probes.flatMap((at) => wallets.map(async (wallet) => ({ at, wallet, api: await balanceAt(wallet, at), truth: await bruteForce(wallet.id, at) }))),
      );
      for (const probe of withSnapshots) expect({ at: probe.at.toISOString(), ...probe.api }).toEqual({ at: probe.at.toISOString(), ...probe.truth });

      await t.db.sql`DELETE FROM wallet_position_snapshots WHERE wallet_id = ANY (${wallets.map((wallet) => wallet.id)}::uuid[])`;
      for (const probe of withSnapshots) {
        expect({ at: probe.at.toISOString(), ...(await balanceAt(probe.wallet, probe.at)) }).toEqual({ at: probe.at.toISOString(), ...probe.truth });
      }
    });
  });

  it('never takes a snapshot past a transaction that is still open: its posting is counted once it commits', async () => {
    const wallet = await createWallet(t.api, 1_000);
    await deposit(t.api, wallet, 20);
    const open = postgres(t.db.url, { max: 1, onnotice: () => undefined });
    const reserved = await open.reserve();
    try {
      await reserved`BEGIN`;
      const [held] = await reserved<{ outcome: string; stamped_at: Date }[]>`
        SELECT b.outcome, now()::timestamptz(3) AS stamped_at FROM wallet_deposit_batch(
          p_deposit_ids => ARRAY[${randomUUID()}]::uuid[], p_user_ids => ARRAY[${wallet.userId}]::uuid[],
          p_idempotency_keys => ARRAY[${randomUUID()}]::text[], p_request_hashes => ARRAY['h']::text[],
          p_wallet_ids => ARRAY[${wallet.id}]::uuid[], p_amounts_cents => ARRAY[7]::bigint[]) b`;
      expect(held!.outcome).toBe('completed');
      const heldAt = new Date(held!.stamped_at);
      // Older than the second the fence keeps anyway: only the open transaction holds it back now.
      await pastTheFence();
      const sweep = await snapshots.sweep({ minPostings: 1 });
      expect(sweep.snapshotsTaken).toBeGreaterThan(0);
      const instants = await snapshotInstants(wallet.id);
      expect(instants.length).toBeGreaterThan(0);
      for (const asOf of instants) expect(asOf.getTime()).toBeLessThan(heldAt.getTime());
      await reserved`COMMIT`;
    } finally {
      await reserved`ROLLBACK`.catch(() => undefined);
      reserved.release();
      await open.end();
    }
    const now = new Date();
    expect(await balanceAt(wallet, now)).toEqual({ balance: 1_027, fractionalBalance: 0 });
    expect(await balanceAt(wallet, now)).toEqual(await bruteForce(wallet.id, now));
  });

  it('is found by reconciliation when a snapshot is tampered with, which removes it', async () => {
    const buyer = await createWallet(t.api, 10_000);
    const author = await createWallet(t.api);
    for (const price of [101, 203, 305, 407]) expect((await purchase(t.api, buyer, author, price)).status).toBe(201);
    await pastTheFence();
    await snapshots.sweep({ minPostings: 1 });
    const [asOf] = await snapshotInstants(author.id);
    expect(asOf).toBeDefined();
    await t.db.sql`UPDATE wallet_position_snapshots SET balance_cents = balance_cents + 1, carry_centi_cents = carry_centi_cents + 1
                    WHERE wallet_id = ${author.id} AND as_of = ${asOf!.toISOString()}::timestamptz`;
    const at = new Date(asOf!.getTime() + 1);
    expect((await balanceAt(author, at)).balance).toBe((await bruteForce(author.id, at)).balance + 1);

    const queued = await t.api.post('/admin/reconciliations', { userId: ADMIN_USER_ID });
    expect(queued.status).toBe(202);
    let run: { status: string; drifts: { check: string; key: Record<string, string>; corrected: boolean }[]; checked: Record<string, number> } | undefined;
    for (let poll = 0; poll < 600 && !(run?.status === 'completed' || run?.status === 'failed'); poll += 1) {
      await pause(50);
      run = (await t.api.get(`/admin/reconciliations/${queued.body.runId}`, { userId: ADMIN_USER_ID })).body;
    }
    expect(run?.status).toBe('completed');
    expect(run!.checked.positionSnapshots).toBeGreaterThan(0);
    expect(run!.drifts.filter((drift) => drift.check === 'position_snapshots')).toEqual([
      expect.objectContaining({ key: { walletId: author.id, asOf: asOf!.toISOString() }, corrected: true }),
    ]);
    expect((await snapshotInstants(author.id)).map((instant) => instant.toISOString())).not.toContain(asOf!.toISOString());
    expect(await balanceAt(author, at)).toEqual(await bruteForce(author.id, at));
  });
});
