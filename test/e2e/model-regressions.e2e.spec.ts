import '../setup/seeded';
import type { Intent } from '../model/money-commands';
import { checkAllWallets, runIntent, startFundedRun } from '../model/model-run';
import { expectBooksBalanced } from '../setup/books';
import { startTestApp, TestApp } from '../setup/test-app';

/**
 * Every defect the model-based tests found, as the shortest sequence they shrank it to, replayed
 * against the model (ADR 0063). Wallets are picked by index among [platform, u0, u1, u2, ...]
 * (u0 and u1 funded with 10,000 cents); a purchase's author is the next wallet after the buyer.
 */
describe('defects found by the model-based tests (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await expectBooksBalanced(t.db.sql);
    await t.close();
  });

  async function replay(intents: Intent[], options: { platformMayEmpty?: boolean } = {}): Promise<void> {
    const { context, driver } = await startFundedRun(t);
    context.platformMayEmpty = options.platformMayEmpty ?? false;
    for (const intent of intents) await runIntent(context, driver, intent, { books: true });
    await checkAllWallets(context, driver);
  }

  // Open: the platform's revenue lands in balance slots (ADR 0013), which do not repay its debt
  // (ADR 0017 says so), so the platform shows a balance and a debt at once where the contract
  // has later credits repay the debt first. `failing` until the money functions repay it; then
  // this test fails as "passed" and becomes a plain `it`.
  it.failing('a platform in debt repays it from its next revenue before holding a balance', async () => {
    await replay(
      [
        { kind: 'purchase', buyer: 1, author: 0, price: 1, item: null },
        { kind: 'withdraw', wallet: 0, amount: 1, whole: true },
        { kind: 'refund', purchase: 0, amount: null, by: 'author' },
        { kind: 'purchase', buyer: 1, author: 0, price: 1, item: null },
      ],
      { platformMayEmpty: true },
    );
  });
});
