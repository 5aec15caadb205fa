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

  async function replay(intents: Intent[], options: { platformMayEmpty?: boolean; holdsOfItems?: boolean } = {}): Promise<void> {
    const { context, driver } = await startFundedRun(t);
    context.platformMayEmpty = options.platformMayEmpty ?? false;
    context.holdsOfItems = options.holdsOfItems ?? false;
    for (const intent of intents) await runIntent(context, driver, intent, { books: true });
    await checkAllWallets(context, driver);
  }

  // Fixed (ADR 0017): the platform's revenue went to balance slots, which did not repay its
  // debt, so the platform showed a balance and a debt at once.
  it('a platform in debt repays it from its next revenue before holding a balance', async () => {
    await replay(
      [
        { kind: 'purchase', buyer: 1, author: 0, price: 1, item: null, hold: false },
        { kind: 'withdraw', wallet: 0, amount: 1, whole: true },
        { kind: 'refund', purchase: 0, amount: null, by: 'author' },
        { kind: 'purchase', buyer: 1, author: 0, price: 1, item: null, hold: false },
      ],
      { platformMayEmpty: true },
    );
  });

  // Was a defect: the hold was made before the item had terms (royaltyTermsVersion null, the
  // author it named), and terms set afterwards made its capture fail with 402 although the money
  // was held. The hold now records the terms version it saw (none) and its capture splits by it.
  it('captures a hold of an item whose royalty terms were set after the authorization', async () => {
    await replay(
      [
        { kind: 'purchase', buyer: 1, author: 0, price: 100, item: 0, hold: true },
        { kind: 'setTerms', item: 0, firstPayee: 3, split: 0, royaltyPercent: null },
        { kind: 'settleHold', purchase: 0, action: 'capture', percent: null, by: 'buyer' },
      ],
      { holdsOfItems: true },
    );
  });

  // Was a defect: a hold of an item with terms was refused (400, "authorWalletId is required
  // when capture is false"), where the contract lets any purchase of an item with terms omit the author.
  it('authorizes and captures a hold of an item with terms, split among its payees at capture', async () => {
    await replay(
      [
        { kind: 'setTerms', item: 0, firstPayee: 2, split: 1, royaltyPercent: 50 },
        { kind: 'purchase', buyer: 1, author: 0, price: 99, item: 0, hold: true },
        { kind: 'settleHold', purchase: 0, action: 'capture', percent: 50, by: 'buyer' },
      ],
      { holdsOfItems: true },
    );
  });

  // Found by the long profile (seed 2026, sequence 7,818): capturing this hold answered 402 where
  // the model completes the purchase with the money already held. The hold's buyer fell into
  // debt after the authorization (it had sold, withdrawn everything, and the sale was refunded);
  // hold_capture released the held cents to its wallet, where they repaid the debt first, and the
  // purchase then found no balance. A capture is now paid from the holds account (ADR 0018).
  it('captures a hold after the platform bought, was emptied and was refunded', async () => {
    await replay(
      [
        { kind: 'purchase', buyer: 0, author: 4, price: 2, item: null, hold: false },
        { kind: 'purchase', buyer: 2, author: 0, price: 1, item: null, hold: true },
        { kind: 'withdraw', wallet: 6, amount: 1, whole: true },
        { kind: 'refund', purchase: 0, amount: null, by: 'author' },
        { kind: 'settleHold', purchase: 0, action: 'capture', percent: null, by: 'buyer' },
      ],
      { platformMayEmpty: true },
    );
  });

  // The same buyer in debt, and a hold that comes back in part or in whole: the released cents
  // are a credit and repay the debt before any reaches the balance (the contract's rule for
  // credits; a wallet never shows a balance and a debt at once). The model first let them
  // bypass the debt; the service's rule is the one kept (ADR 0063).
  it.each([
    ['captures half of a hold while its buyer is in debt', { action: 'capture' as const, percent: 50 }],
    ['voids a hold while its buyer is in debt', { action: 'void' as const, percent: null }],
  ])('%s: the released cents repay the debt first', async (_name, settle) => {
    await replay(
      [
        { kind: 'purchase', buyer: 0, author: 4, price: 40, item: null, hold: false },
        { kind: 'purchase', buyer: 2, author: 0, price: 10, item: null, hold: true },
        { kind: 'withdraw', wallet: 6, amount: 1, whole: true },
        { kind: 'refund', purchase: 0, amount: null, by: 'author' },
        { kind: 'settleHold', purchase: 0, action: settle.action, percent: settle.percent, by: 'buyer' },
      ],
      { platformMayEmpty: true },
    );
  });

  // A question the model had to settle, not a defect: terms set on an item after a completed
  // purchase of it do not change what its key answers; another payload under the key is 422.
  it('answers a reused key 422 even when the item got terms after the first purchase', async () => {
    await replay([
      { kind: 'purchase', buyer: 0, author: 0, price: 1, item: 0, hold: false },
      { kind: 'setTerms', item: 0, firstPayee: 0, split: 0, royaltyPercent: null },
      { kind: 'reuseKey' },
    ]);
  });

  // A defect of the model, found by the long profile (seed 2030, shrunk to a sequence that
  // needed the platform's state of that run; this is the same case from scratch). With 100%
  // royalty, split payees may sweep more whole cents from their carries than the price has: two
  // payees at 70 centi-cents each take 16 cents of a 31-cent sale, and the platform pays the
  // cent (platformAmount -1, ADR 0045). The model credited the platform -1 cent, which it booked
  // as a debt beside a balance; the service takes the cent from the platform's balance, which is
  // the rule kept.
  it('a split sale at 100% whose payees sweep more than the price takes the difference from the platform', async () => {
    await replay([
      { kind: 'purchase', buyer: 1, author: 0, price: 1, item: null, hold: false },
      { kind: 'purchase', buyer: 2, author: 0, price: 1, item: null, hold: false },
      { kind: 'setTerms', item: 0, firstPayee: 2, split: 1, royaltyPercent: 100 },
      { kind: 'purchase', buyer: 1, author: 0, price: 31, item: 0, hold: false },
    ]);
  });

  // The same sale with the platform's balance withdrawn: the cent it cannot cover becomes its
  // debt, fronted by receivables as a refund's would be (ADR 0017), and its next revenue repays
  // it. The service failed the purchase (and its batch) with an exception, a 500.
  it('a split sale whose payees sweep more than the price leaves an empty platform in debt, repaid by its next revenue', async () => {
    await replay(
      [
        { kind: 'setTerms', item: 0, firstPayee: 2, split: 1, royaltyPercent: 100 },
        { kind: 'purchase', buyer: 1, author: 0, price: 1, item: 0, hold: false },
        { kind: 'withdraw', wallet: 0, amount: 1, whole: true },
        { kind: 'purchase', buyer: 1, author: 0, price: 1, item: 0, hold: false },
        { kind: 'purchase', buyer: 1, author: 0, price: 1, item: 0, hold: false },
        { kind: 'purchase', buyer: 1, author: 0, price: 1, item: 0, hold: false },
      ],
      { platformMayEmpty: true },
    );
  });

  // Refunding that sale takes 50 centi-cents back from each payee, a whole cent from each: 2 cents
  // for a 1-cent refund, so the platform gets a cent (platformAmount -1). That credit repays its
  // debt first, as every credit does (ADR 0017); the refund put it in the platform's balance
  // slot, and the platform showed a balance of 1 beside a debt of 1 (the model agreed then).
  it('a split refund whose payees give up more than its amount repays the platform\'s debt first', async () => {
    await replay(
      [
        { kind: 'setTerms', item: 0, firstPayee: 2, split: 1, royaltyPercent: 100 },
        { kind: 'purchase', buyer: 1, author: 0, price: 1, item: 0, hold: false },
        { kind: 'withdraw', wallet: 0, amount: 1, whole: true },
        { kind: 'purchase', buyer: 1, author: 0, price: 1, item: 0, hold: false },
        { kind: 'refund', purchase: 1, amount: null, by: 'admin' },
      ],
      { platformMayEmpty: true },
    );
  });
});
