import fc from 'fast-check';
import '../setup/seeded';
import { Call, Intent, intentArbitrary, resolve } from '../model/money-commands';
import { runConcurrently } from '../model/linearizability';
import { checkAllWallets, modelRuns, nextKey, reportProgress, RotatingApp, runIntent, startRun } from '../model/model-run';

/**
 * The concurrent mode of the model-based tests (ADR 0063): after a short serial set-up, batches
 * of commands are fired at once. Whatever the interleaving, the answers and the wallets must be
 * those of SOME serial order of the commands (linearizable money), the books must balance, and
 * a key sent twice in one batch must move money once. Batches mix purchases in both directions
 * between the same wallets (the lock order), refunds of one purchase racing each other and the
 * author's withdrawals, settlements and failures of one payout racing each other, captures and
 * voids of one hold racing each other, and duplicates of a call with its key.
 */

/** In a batch: an intent, or the same request as an earlier call of the batch (same key and body). */
type BatchIntent = Intent | { kind: 'duplicate'; of: number };

const USERS = 4;

const batchIntent: fc.Arbitrary<BatchIntent> = fc.oneof(
  { weight: 8, arbitrary: intentArbitrary({ amountMax: 2_000 }).filter((i) => ['deposit', 'purchase', 'refund', 'withdraw', 'finishWithdrawal', 'settleHold'].includes(i.kind)) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), of: fc.nat({ max: 5 }) }) },
);

const scenario = fc.record({
  depositsCents: fc.array(fc.integer({ min: 0, max: 5_000 }), { minLength: USERS, maxLength: USERS }),
  warmUp: fc.array(intentArbitrary({ amountMax: 2_000 }).filter((i) => i.kind === 'purchase'), { maxLength: 4 }),
  batches: fc.array(fc.array(batchIntent, { minLength: 2, maxLength: 5 }), { minLength: 1, maxLength: 4 }),
});

describe('the service against the reference model, concurrently (e2e)', () => {
  const service = new RotatingApp(50);
  const runs = modelRuns(60, 'MODEL_CONCURRENT_RUNS');

  afterAll(async () => {
    await service.close();
  });

  it('explains every batch of concurrent commands by some serial order of them, with balanced books', async () => {
    const startedMs = Date.now();
    let scenarios = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async ({ depositsCents, warmUp, batches }) => {
        const { context, driver } = await startRun(await service.next());
        for (let user = 0; user < USERS; user++) {
          await runIntent(context, driver, { kind: 'createWallet', user }, { books: false });
          const amount = depositsCents[user]!;
          if (amount > 0) await runIntent(context, driver, { kind: 'deposit', wallet: user + 1, amount, keyed: false }, { books: false });
        }
        for (const intent of warmUp) await runIntent(context, driver, intent, { books: false });
        await driver.checkBooks('the set-up');

        for (const [b, batch] of batches.entries()) {
          const calls: Call[] = [];
          for (const intent of batch) {
            if (intent.kind === 'duplicate') {
              const original = calls[intent.of % Math.max(1, calls.length)];
              if (original?.scope !== undefined) calls.push(original);
              continue;
            }
            const call = resolve(context, intent, nextKey(context));
            if (call) calls.push(call);
          }
          if (calls.length === 0) continue;
          await runConcurrently(context, driver, calls, `batch ${b}`);
          await driver.checkBooks(`batch ${b}`);
        }
        await checkAllWallets(context, driver);
        service.passed();
        reportProgress('concurrent', ++scenarios, startedMs);
      }),
      { numRuns: runs },
    );
  }, Math.max(600_000, runs * 5_000));
});
