import * as fs from 'node:fs';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { expectBooksBalanced } from '../setup/books';
import { ADMIN_USER_ID, PLATFORM_USER_ID, startTestApp, TestApp } from '../setup/test-app';
import { ADMIN, Call, Intent, newRunContext, PLATFORM, resolve, RunContext, ServiceDriver } from './money-commands';
import { MoneyModel } from './money-model';

/**
 * The budget of a model-based run: the quick profile in `npm test`, the long one through
 * `npm run test:model -- --runs N [--concurrent-runs M]` (which sets MODEL_RUNS and
 * MODEL_CONCURRENT_RUNS; the concurrent mode takes N when M is not given).
 */
export function modelRuns(quickRuns: number, variable: 'MODEL_RUNS' | 'MODEL_CONCURRENT_RUNS' = 'MODEL_RUNS'): number {
  const raw = process.env[variable] || process.env.MODEL_RUNS;
  if (raw === undefined || raw === '') return quickRuns;
  const runs = Number(raw);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`${variable} must be a positive integer, got "${raw}"`);
  return runs;
}

/**
 * The service the sequences run against, on a fresh database every `every` sequences: the books
 * check scans the whole ledger after every command, so a long profile on one database would slow
 * down as it grows. The database a sequence leaves behind is checked once more before it goes.
 */
export class RotatingApp {
  private app: TestApp | undefined;
  private sequences = 0;

  constructor(private readonly every: number) {}

  /** Set while a sequence runs; still set at the next one when it failed. */
  private running = false;

  async next(): Promise<TestApp> {
    if (this.app && this.sequences % this.every === 0) await this.close();
    // A failed sequence may have left the books off, which would fail every later one, and the
    // shrinker would "shrink" the failure to a meaningless sequence: after a failure the next
    // sequence starts on a fresh database. (A sequence that passed ended on balanced books.)
    if (this.app && this.running) await this.drop();
    this.running = true;
    this.sequences++;
    this.app ??= await startTestApp();
    return this.app;
  }

  /** The sequence that `next` served passed. */
  passed(): void {
    this.running = false;
  }

  private async drop(): Promise<void> {
    const app = this.app;
    this.app = undefined;
    await app?.close();
  }

  async close(): Promise<void> {
    if (!this.app) return;
    const app = this.app;
    this.app = undefined;
    try {
      await expectBooksBalanced(app.db.sql);
    } finally {
      await app.close();
    }
  }
}

/** The platform keeps this much at least, so that no run drives it into debt by its own purchases. */
const PLATFORM_FLOAT_CENTS = 100_000_000;

/**
 * A fresh model and driver for one sequence: new users each time, the platform wallet adopted
 * with the state the service shows for it now.
 */
export async function startRun(t: TestApp): Promise<{ context: RunContext; driver: ServiceDriver }> {
  const driver = new ServiceDriver(t);
  let platform = (await t.api.post('/wallets', { userId: PLATFORM_USER_ID })).body;
  if (platform.balance < PLATFORM_FLOAT_CENTS) {
    await t.api.post(`/wallets/${platform.id}/deposit`, { userId: PLATFORM_USER_ID, body: { amount: PLATFORM_FLOAT_CENTS } });
  }
  platform = (await t.api.get(`/wallets/${platform.id}`, { userId: PLATFORM_USER_ID })).body;
  const model = new MoneyModel({
    royaltyPercent: t.config.authorRoyaltyPercent,
    platformUserRef: PLATFORM,
    adminUserRefs: [ADMIN],
    payoutMinimumCents: 1,
  });
  model.adopt({
    ref: 'wP',
    userRef: PLATFORM,
    balanceCents: platform.balance,
    carryCentiCents: platform.fractionalBalance,
    debtCents: platform.debt,
    heldCents: platform.heldBalance ?? 0,
  });
  driver.ids.set('wP', platform.id);
  return { context: newRunContext(model, randomUUID()), driver };
}

/**
 * Three users with wallets, two of them funded, before the random commands: sequences then reach
 * sales, refunds, withdrawals and debt in a few commands instead of spending them on set-up.
 */
export async function startFundedRun(t: TestApp, fundCents = 10_000): Promise<{ context: RunContext; driver: ServiceDriver }> {
  const run = await startRun(t);
  for (const user of [0, 1, 2]) await runIntent(run.context, run.driver, { kind: 'createWallet', user }, { books: false });
  for (const wallet of [1, 2]) await runIntent(run.context, run.driver, { kind: 'deposit', wallet, amount: fundCents, keyed: false }, { books: false });
  return run;
}

export function nextKey(context: RunContext): () => string {
  return () => `${context.keyPrefix}-${++context.keyCount}`;
}

/** Every 100 sequences, how far a long run got, in MODEL_PROGRESS_FILE when it is set. */
export function reportProgress(spec: string, sequences: number, startedMs: number): void {
  const file = process.env.MODEL_PROGRESS_FILE;
  if (!file || sequences % 100 !== 0) return;
  const commands = [...tally.values()].reduce((a, b) => a + b, 0);
  const line = `${new Date().toISOString()} ${spec}: ${sequences} sequences, ${commands} commands, ${((Date.now() - startedMs) / 1000).toFixed(0)} s\n`;
  fs.appendFileSync(file, line);
}

/** What the runs did, by command and answer (`npm run test:model` prints it). */
export const tally = new Map<string, number>();

function count(call: Call, status: number): void {
  const name = `${call.label.replace(/\(.*$/, '').replace(/:.*$/, '')} ${status}`;
  tally.set(name, (tally.get(name) ?? 0) + 1);
}

/** One intent, serially: the answer, the touched wallets and purchase, and the books. */
export async function runIntent(context: RunContext, driver: ServiceDriver, intent: Intent, options: { books: boolean }): Promise<void> {
  const call = resolve(context, intent, nextKey(context));
  if (!call) return;
  const expected = call.apply(context.model);
  const response = await driver.send(call);
  count(call, response.status);
  driver.checkAnswer(call, expected, response);
  if (call.scope !== undefined) context.keyed.push(call);
  const created = typeof expected.body?.id === 'string' && call.label.startsWith('createWallet') ? [expected.body.id] : [];
  await driver.checkWallets(context.model, [...call.walletRefs, ...created], call.label);
  await driver.checkPurchase(context.model, call.purchaseRef ?? (typeof expected.body?.id === 'string' && call.label.includes('purchase(') ? expected.body.id : undefined), call.label);
  if (options.books) await driver.checkBooks(call.label);
  // Coverage of the states where the contract's rules interact most.
  for (const ref of call.walletRefs) {
    const wallet = context.model.wallets.get(ref);
    if (wallet && wallet.debtCents > 0) tally.set('(a touched wallet in debt)', (tally.get('(a touched wallet in debt)') ?? 0) + 1);
  }
}

/** fast-check's command: checks the model can take it, runs it on both sides, prints the intent. */
export class IntentCommand implements fc.AsyncCommand<RunContext, ServiceDriver> {
  constructor(
    readonly intent: Intent,
    private readonly options: { books: boolean },
  ) {}

  check(context: Readonly<RunContext>): boolean {
    return resolve(context as RunContext, this.intent, () => 'probe') !== undefined;
  }

  run(context: RunContext, driver: ServiceDriver): Promise<void> {
    return runIntent(context, driver, this.intent, this.options);
  }

  toString(): string {
    return JSON.stringify(this.intent);
  }
}

/** Every wallet of the run, compared once more at the end (a wallet no command named included). */
export async function checkAllWallets(context: RunContext, driver: ServiceDriver): Promise<void> {
  await driver.checkWallets(context.model, context.model.wallets.keys(), 'the end of the sequence');
}

export type { Call };
export { ADMIN_USER_ID };
