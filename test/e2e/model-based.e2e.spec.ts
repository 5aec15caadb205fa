import fc from 'fast-check';
import '../setup/seeded';
import { intentArbitrary } from '../model/money-commands';
import { checkAllWallets, IntentCommand, modelRuns, startRun, tally } from '../model/model-run';
import { expectBooksBalanced } from '../setup/books';
import { startTestApp, TestApp } from '../setup/test-app';

/**
 * Model-based tests (ADR 0063): random sequences of commands run against the real service over
 * HTTP and against the reference model (test/model/money-model.ts); after every command the
 * answer, every wallet it touched, the purchase it touched and the books must agree with the
 * model. A failure prints the seed and the shortest sequence fast-check shrank it to.
 */
describe('the service against the reference model (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    if (process.env.MODEL_STATS === 'true') console.log([...tally].sort().map(([name, n]) => `${name}: ${n}`).join('\n'));
    await expectBooksBalanced(t.db.sql);
    await t.close();
  });

  const runs = modelRuns(150);

  it('answers every sequence of commands as the model does, with the same wallets and balanced books', async () => {
    const maxCommands = Number(process.env.MODEL_MAX_COMMANDS ?? 30);
    const commands = fc.commands(
      [intentArbitrary({ amountMax: 3_000 }).map((intent) => new IntentCommand(intent, { books: true }))],
      { maxCommands, size: 'medium' },
    );
    await fc.assert(
      fc.asyncProperty(commands, async (sequence) => {
        let run: Awaited<ReturnType<typeof startRun>> | undefined;
        await fc.asyncModelRun(async () => {
          run = await startRun(t);
          return { model: run.context, real: run.driver };
        }, sequence);
        await checkAllWallets(run!.context, run!.driver);
      }),
      { numRuns: runs, endOnFailure: process.env.MODEL_SHRINK === 'false' },
    );
  }, Math.max(600_000, runs * 2_000));
});
