import { randomUUID } from 'node:crypto';
import { loadConfig } from '../../src/config/app-config';
import { createSqlClient, Database } from '../../src/db/database';
import { MetricsService } from '../../src/metrics/metrics.service';
import { PurchasesRepository } from '../../src/purchases/purchases.repository';
import { IncrementalReconciliationRepository } from '../../src/reconciliation/reconciliation-incremental.repository';
import { ReconciliationRepository } from '../../src/reconciliation/reconciliation.repository';
import { ReconciliationService } from '../../src/reconciliation/reconciliation.service';
import { Drift, RunOutcome } from '../../src/reconciliation/reconciliation.types';
import { WalletsRepository } from '../../src/wallets/wallets.repository';
import { randomInt, seededRandom } from '../setup/seeded';
import { createTestDatabase, TestDatabase } from '../setup/test-database';

const PLATFORM_USER_ID = randomUUID();
const EVERY_MS = 10 * 60_000;
const PERIOD_MS = 24 * 3_600_000;
const WALLETS = 40;

/**
 * Incremental reconciliation (ADR 0028) on real books made through the repositories: a run
 * after a clean one checks only what changed (and finds drift there), an old drift waits for the
 * sweep, and the runs of one sweep cycle find what a full run finds.
 */
describe('incremental reconciliation', () => {
  let db: TestDatabase;
  let database: Database;
  let wallets: WalletsRepository;
  let purchases: PurchasesRepository;
  let runs: ReconciliationRepository;
  let service: ReconciliationService;
  let platformWalletId: string;
  const parties: { userId: string; walletId: string }[] = [];

  const purchase = async (buyer: number, author: number, priceCents: number) => {
    await purchases.execute({
      purchaseId: randomUUID(),
      userId: parties[buyer]!.userId,
      idempotencyKey: randomUUID(),
      requestHash: 'h',
      buyerWalletId: parties[buyer]!.walletId,
      authorWalletId: parties[author]!.walletId,
      itemPriceCents: priceCents,
      royaltyPercent: 70,
      platformWalletId,
    });
  };

  /** A run stored as the scheduler stores it, so that the next incremental run starts from it. */
  const run = async (scope: 'full' | 'incremental', now = new Date()): Promise<RunOutcome> => {
    const row = await runs.createScheduledRun({ fixBalances: false });
    // No margin: nothing commits concurrently here, and the books were all made seconds ago.
    const outcome = await service.reconcile({ fixBalances: false, scope, now, changeMarginMs: 0 });
    await runs.completeRun(row.id, outcome);
    return outcome;
  };

  const keysOf = (drifts: readonly Drift[]) => drifts.map((drift) => `${drift.check}:${JSON.stringify(drift.key)}`).sort();

  beforeAll(async () => {
    db = await createTestDatabase();
    database = new Database(createSqlClient({ url: db.url, poolMax: 4 }));
    wallets = new WalletsRepository(database);
    purchases = new PurchasesRepository(database);
    runs = new ReconciliationRepository(database);
    const config = loadConfig({
      DATABASE_URL: db.url,
      PLATFORM_ACCOUNT_ID: PLATFORM_USER_ID,
      LOG_LEVEL: 'silent',
      RECONCILE_EVERY: String(EVERY_MS),
      RECONCILE_SWEEP_PERIOD: String(PERIOD_MS),
    });
    service = new ReconciliationService(
      runs,
      config,
      new MetricsService(),
      { on: () => undefined } as never,
      new IncrementalReconciliationRepository(database),
    );
    platformWalletId = (await wallets.createForUser(PLATFORM_USER_ID)).wallet.id;
    for (let i = 0; i < WALLETS; i++) {
      const userId = randomUUID();
      const { wallet } = await wallets.createForUser(userId);
      await wallets.deposit({ operationId: randomUUID(), userId, idempotencyKey: undefined, requestHash: 'h', walletId: wallet.id, amountCents: 100_000 });
      parties.push({ userId, walletId: wallet.id });
    }
    const random = seededRandom();
    for (let i = 0; i < 60; i++) {
      const buyer = i % WALLETS;
      await purchase(buyer, (buyer + randomInt(random, 1, WALLETS - 1)) % WALLETS, randomInt(random, 10, 5_000));
    }
  });

  afterAll(async () => {
    await database.close();
    await db.drop();
  });

  it('checks only what changed since the last clean run, finds drift there, and the sweep finds the old drift', async () => {
    const clean = await run('full');
    expect(clean.driftCount).toBe(0);

    // Old data: a wallet nothing touches from now on, and an author's day long ago.
    const untouched = parties[WALLETS - 1]!.walletId;
    await db.sql`UPDATE wallets SET balance = balance + 7 WHERE id = ${untouched}`;
    const oldDay = new Date(Date.UTC(2020, 0, 15));
    await db.sql`
      INSERT INTO author_daily_rollups (author_wallet_id, day_start, sales_count, gross_volume, royalty)
      VALUES (${parties[0]!.walletId}, ${oldDay.toISOString()}, 1, 500, 350)`;

    // New data: two purchases after the clean run, and a drift in what they touched.
    await purchase(2, 3, 1_234);
    await purchase(4, 5, 999);
    await db.sql`UPDATE wallets SET balance = balance - 11 WHERE id = ${parties[2]!.walletId}`;
    await db.sql`
      UPDATE hourly_rollups SET purchase_volume = purchase_volume + 5
       WHERE slot = (SELECT min(slot) FROM hourly_rollups WHERE bucket_start = date_trunc('hour', now(), 'UTC'))
         AND bucket_start = date_trunc('hour', now(), 'UTC')`;

    const next = await run('incremental', new Date(Date.now() + EVERY_MS));
    // What changed: the four parties, the platform, and the sweep's first slice (1/144 of the ids).
    expect(next.checked.wallets).toBeLessThan(WALLETS / 2);
    expect(next.checked.purchases).toBeLessThan(20);
    expect(keysOf(next.drifts)).toEqual(
      expect.arrayContaining([`wallet_balances:${JSON.stringify({ walletId: parties[2]!.walletId })}`]),
    );
    expect(next.driftsByCheck.hourly_rollups).toBe(1);
    expect(next.drifts.find((drift) => drift.check === 'hourly_rollups')?.corrected).toBe(true);

    // The run that completes the cycle covers the rest: the old drifts are found now.
    const completing = await run('incremental', new Date(Date.now() + EVERY_MS + PERIOD_MS));
    const found = keysOf([...next.drifts, ...completing.drifts]);
    expect(found).toEqual(expect.arrayContaining([`wallet_balances:${JSON.stringify({ walletId: untouched })}`]));
    expect(completing.drifts.find((drift) => drift.check === 'author_daily_rollups')).toMatchObject({
      key: { authorWalletId: parties[0]!.walletId, bucketStart: oldDay.toISOString() },
      corrected: true,
    });

    // A full run now finds what the cycle found and did not correct (balances are only reported).
    const full = await run('full');
    expect(keysOf(full.drifts)).toEqual(
      [...new Set(found.filter((key) => key.startsWith('wallet_balances:')))].sort(),
    );
  });

  it('checks a busy wallet from its checkpoint, reading only what it posted since', async () => {
    await run('full');
    await purchase(6, 7, 500);
    const first = await run('incremental', new Date(Date.now() + EVERY_MS));
    const drifted = (walletId: string) => first.drifts.some((drift) => drift.key.walletId === walletId);
    expect([platformWalletId, parties[6]!.walletId, parties[7]!.walletId].filter(drifted)).toEqual([]);
    const checkpoints = await db.sql<{ wallet_id: string }[]>`SELECT wallet_id FROM wallet_ledger_checkpoints`;
    expect(checkpoints.map((row) => row.wallet_id)).toEqual(expect.arrayContaining([platformWalletId, parties[6]!.walletId]));

    // A drift posted behind the service's back after the checkpoint is still found from it.
    await purchase(6, 8, 700);
    await db.sql`UPDATE wallets SET balance = balance + 3 WHERE id = ${parties[8]!.walletId}`;
    const second = await run('incremental', new Date(Date.now() + 2 * EVERY_MS));
    expect(keysOf(second.drifts)).toEqual(
      expect.arrayContaining([`wallet_balances:${JSON.stringify({ walletId: parties[8]!.walletId })}`]),
    );
    expect(second.drifts.filter((drift) => drift.check === 'wallet_balances' && drift.key.walletId === platformWalletId)).toEqual([]);
  });
});
