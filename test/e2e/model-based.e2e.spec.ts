import fc from 'fast-check';
import '../setup/seeded';
import { intentArbitrary } from '../model/money-commands';
import { checkAllWallets, IntentCommand, modelRuns, reportProgress, RotatingApp, startFundedRun, tally } from '../model/model-run';

/**
 * Model-based tests (ADR 0063): random sequences of commands run against the real service over
 * HTTP and against the reference model (test/model/money-model.ts); after every command the
 * answer, every wallet it touched, the purchase it touched and the books must agree with the
 * model. A failure prints the seed and the shortest sequence fast-check shrank it to.
 */
describe('the service against the reference model (e2e)', () => {
  const service = new RotatingApp(100);

  afterAll(async () => {
    if (process.env.MODEL_STATS === 'true') console.log([...tally].sort().map(([name, n]) => `${name}: ${n}`).join('\n'));
    await service.close();
  });

  const runs = modelRuns(200);
  // The long profile may check the books once per sequence (`--books sequence`): most of a
  // command's cost is the books check, and a failure still shrinks to the sequence that broke them.
  const booksEveryCommand = process.env.MODEL_BOOKS !== 'sequence';

  it('answers every sequence of commands as the model does, with the same wallets and balanced books', async () => {
    const maxCommands = Number(process.env.MODEL_MAX_COMMANDS ?? 30);
    const startedMs = Date.now();
    let sequences = 0;
    const commands = fc.commands(
      [intentArbitrary({ amountMax: 3_000, terms: true }).map((intent) => new IntentCommand(intent, { books: booksEveryCommand }))],
      { maxCommands, size: 'medium' },
    );
    await fc.assert(
      fc.asyncProperty(commands, async (sequence) => {
        let run: Awaited<ReturnType<typeof startFundedRun>> | undefined;
        await fc.asyncModelRun(async () => {
          run = await startFundedRun(await service.next());
          run.context.platformMayEmpty = true;
          return { model: run.context, real: run.driver };
        }, sequence);
        await checkAllWallets(run!.context, run!.driver);
        if (!booksEveryCommand) await run!.driver.checkBooks('the end of the sequence');
        service.passed();
        reportProgress('serial', ++sequences, startedMs);
      }),
      { numRuns: runs, endOnFailure: process.env.MODEL_SHRINK === 'false' },
    );
  }, Math.max(600_000, runs * 2_000));
});
