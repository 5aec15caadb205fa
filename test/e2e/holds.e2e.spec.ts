import '../setup/seeded';
import { randomUUID } from 'node:crypto';
import { createWallet, TestWallet } from '../factories/wallets.factory';
import { expectBooksBalanced } from '../setup/books';
import { ADMIN_USER_ID, startTestApp, TestApp } from '../setup/test-app';

const POLLS_MAX = 200;
const POLL_INTERVAL_MS = 50;

function authorize(t: TestApp, buyer: TestWallet, author: TestWallet, itemPrice: number, idempotencyKey = randomUUID()) {
  return t.api.post('/purchases', {
    userId: buyer.userId,
    idempotencyKey,
    body: { buyerWalletId: buyer.id, authorWalletId: author.id, itemPrice, capture: false },
  });
}

const capture = (t: TestApp, id: string, userId: string, amount?: number) =>
  t.api.post(`/purchases/${id}/capture`, { userId, body: amount === undefined ? {} : { amount } });
const voidHold = (t: TestApp, id: string, userId: string) => t.api.post(`/purchases/${id}/void`, { userId });

async function balanceOf(t: TestApp, wallet: TestWallet): Promise<number> {
  return (await t.api.get(`/wallets/${wallet.id}`, { userId: wallet.userId })).body.balance as number;
}

describe('purchase holds (e2e)', () => {
  let t: TestApp;

  // The default HOLD_TTL (7 days): no hold here expires while a slow machine runs the steps.
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await expectBooksBalanced(t.db.sql);
    await t.close();
  });

  it('authorizes with capture: false, then captures part of it: the split happens at capture', async () => {
    const buyer = await createWallet(t.api, 1_000);
    const author = await createWallet(t.api);
    const key = randomUUID();
    const held = await authorize(t, buyer, author, 300, key);
    expect(held.status).toBe(201);
    expect(held.body).toMatchObject({
      buyerWalletId: buyer.id,
      authorWalletId: author.id,
      itemPrice: 300,
      authorAmount: null,
      platformAmount: null,
      status: 'authorized',
      expiresAt: expect.stringMatching(/Z$/),
    });
    expect(await balanceOf(t, buyer)).toBe(700);
    expect((await t.api.get(`/wallets/${buyer.id}`, { userId: buyer.userId })).body.heldBalance).toBe(300);
    const replay = await authorize(t, buyer, author, 300, key);
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.id).toBe(held.body.id);
    expect((await t.api.get(`/purchases/${held.body.id}`, { userId: author.userId })).body.status).toBe('authorized');

    expect((await capture(t, held.body.id, randomUUID())).status).toBe(404);
    const tooMuch = await capture(t, held.body.id, buyer.userId, 301);
    expect(tooMuch.status).toBe(422);
    expect(tooMuch.body.code).toBe('CAPTURE_EXCEEDS_AUTHORIZED');
    const captured = await capture(t, held.body.id, buyer.userId, 99);
    expect(captured.status).toBe(200);
    expect(captured.body).toMatchObject({ id: held.body.id, itemPrice: 99, authorAmount: 69, platformAmount: 30, status: 'completed' });
    expect(await balanceOf(t, buyer)).toBe(901);
    expect((await t.api.get(`/wallets/${buyer.id}`, { userId: buyer.userId })).body.heldBalance).toBe(0);
    expect(await balanceOf(t, author)).toBe(69);

    for (const again of [await capture(t, held.body.id, buyer.userId), await voidHold(t, held.body.id, buyer.userId)]) {
      expect(again.status).toBe(409);
      expect(again.body.code).toBe('PURCHASE_NOT_AUTHORIZED');
    }
    await expectBooksBalanced(t.db.sql);
  });

  it('capture and void accept Idempotency-Key: a retry with the key replays the answer instead of a 409', async () => {
    const buyer = await createWallet(t.api, 1_000);
    const author = await createWallet(t.api);
    const first = await authorize(t, buyer, author, 200);
    const key = randomUUID();
    const captured = await t.api.post(`/purchases/${first.body.id}/capture`, { userId: buyer.userId, idempotencyKey: key, body: {} });
    expect(captured.status).toBe(200);
    const retried = await t.api.post(`/purchases/${first.body.id}/capture`, { userId: buyer.userId, idempotencyKey: key, body: {} });
    expect(retried.status).toBe(200);
    expect(retried.headers.get('idempotent-replayed')).toBe('true');
    expect(retried.body).toEqual(captured.body);
    expect(await balanceOf(t, buyer)).toBe(800);

    const second = await authorize(t, buyer, author, 300);
    const voidKey = randomUUID();
    expect((await t.api.post(`/purchases/${second.body.id}/void`, { userId: buyer.userId, idempotencyKey: voidKey })).status).toBe(200);
    const voidAgain = await t.api.post(`/purchases/${second.body.id}/void`, { userId: buyer.userId, idempotencyKey: voidKey });
    expect(voidAgain.status).toBe(200);
    expect(voidAgain.headers.get('idempotent-replayed')).toBe('true');
    expect(await balanceOf(t, buyer)).toBe(800);
  });

  it('void gives the money back once; an admin may void; the buyer must afford the hold (402)', async () => {
    const buyer = await createWallet(t.api, 500);
    const author = await createWallet(t.api);
    expect((await authorize(t, buyer, author, 501)).status).toBe(402);
    const held = await authorize(t, buyer, author, 400);
    const voided = await voidHold(t, held.body.id, ADMIN_USER_ID);
    expect(voided.status).toBe(200);
    expect(voided.body).toMatchObject({ id: held.body.id, status: 'voided', authorAmount: null });
    expect(await balanceOf(t, buyer)).toBe(500);
    expect((await voidHold(t, held.body.id, buyer.userId)).status).toBe(409);
    expect((await t.api.get(`/purchases/${held.body.id}`, { userId: buyer.userId })).body.status).toBe('voided');
    expect((await authorize(t, buyer, buyer, 1)).status).toBe(400);
  });

  it('capture and void racing over HTTP: exactly one wins each hold, the others get 409 PURCHASE_NOT_AUTHORIZED', async () => {
    const buyer = await createWallet(t.api, 50_000);
    const author = await createWallet(t.api);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await authorize(t, buyer, author, 1_000)).body.id as string);
    const answers = await Promise.all(
      ids.flatMap((id) => [capture(t, id, buyer.userId), voidHold(t, id, buyer.userId), capture(t, id, ADMIN_USER_ID)]),
    );
    let capturedCount = 0;
    for (let i = 0; i < ids.length; i++) {
      const three = answers.slice(i * 3, i * 3 + 3);
      expect(three.filter((answer) => answer.status === 200)).toHaveLength(1);
      expect(three.filter((answer) => answer.status === 409)).toHaveLength(2);
      if (three.some((answer) => answer.status === 200 && answer.body.status === 'completed')) capturedCount += 1;
    }
    expect(await balanceOf(t, buyer)).toBe(50_000 - capturedCount * 1_000);
    await expectBooksBalanced(t.db.sql);
  });

  it('reconciliation finds holds, held balances and the holds account in agreement; the report shows what is held', async () => {
    const buyer = await createWallet(t.api, 1_000);
    const author = await createWallet(t.api);
    const held = await authorize(t, buyer, author, 640);
    const queued = await t.api.post('/admin/reconciliations', { userId: ADMIN_USER_ID });
    expect(queued.status).toBe(202);
    let run: { status: string; driftCount: number; checked: Record<string, number> } | undefined;
    for (let poll = 0; poll < POLLS_MAX && !(run && ['completed', 'failed'].includes(run.status)); poll++) {
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
      run = (await t.api.get(`/admin/reconciliations/${queued.body.runId}`, { userId: ADMIN_USER_ID })).body;
    }
    expect(run).toMatchObject({ status: 'completed', driftCount: 0 });
    expect(run!.checked.pendingHolds).toBeGreaterThan(0);

    const report = await t.api.post('/reports/financial', { userId: ADMIN_USER_ID });
    let result: { totalHeld: number } | undefined;
    for (let poll = 0; poll < POLLS_MAX && !result; poll++) {
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
      result = (await t.api.get(`/reports/financial/${report.body.jobId}`, { userId: ADMIN_USER_ID })).body.result ?? undefined;
    }
    expect(result!.totalHeld).toBeGreaterThanOrEqual(640);
    expect((await voidHold(t, held.body.id, buyer.userId)).status).toBe(200);
  });

  it('a hold of an item splits at capture by the terms in force at authorization, and may omit the author when there are terms', async () => {
    const putTerms = (itemId: string, body: unknown) =>
      t.api.request('PUT', `/royalty-terms/${encodeURIComponent(itemId)}`, { userId: ADMIN_USER_ID, body });
    const [buyer, first, second, later] = await Promise.all([createWallet(t.api, 1_000), createWallet(t.api), createWallet(t.api), createWallet(t.api)]);
    const hold = (body: Record<string, unknown>) =>
      t.api.post('/purchases', { userId: buyer.userId, idempotencyKey: randomUUID(), body: { buyerWalletId: buyer.id, capture: false, ...body } });

    const splitItem = `holds-split-${randomUUID()}`;
    expect((await putTerms(splitItem, { royaltyPercent: 50, payees: [{ walletId: first.id, share: 5000 }, { walletId: second.id, share: 5000 }] })).status).toBe(201);
    const split = await hold({ itemPrice: 100, itemId: splitItem });
    expect(split.status).toBe(201);
    expect(split.body).toMatchObject({ authorWalletId: first.id, royaltyTermsVersion: 1, status: 'authorized', payees: [] });
    expect((await t.api.get(`/purchases/${split.body.id}`, { userId: second.userId })).status).toBe(200);
    // Terms changed after the authorization do not change the hold's split.
    expect((await putTerms(splitItem, { payees: [{ walletId: later.id, share: 10000 }] })).status).toBe(201);
    const capturedSplit = await capture(t, split.body.id, buyer.userId);
    expect(capturedSplit.status).toBe(200);
    expect(capturedSplit.body).toMatchObject({
      status: 'completed',
      royaltyTermsVersion: 1,
      authorAmount: 50,
      platformAmount: 50,
      payees: [{ walletId: first.id, amount: 25 }, { walletId: second.id, amount: 25 }],
    });

    // A hold made before its item had terms keeps its one author, even if the terms leave it out.
    const plainItem = `holds-plain-${randomUUID()}`;
    const plain = await hold({ itemPrice: 100, itemId: plainItem, authorWalletId: first.id });
    expect(plain.status).toBe(201);
    expect(plain.body.royaltyTermsVersion).toBeNull();
    expect((await putTerms(plainItem, { payees: [{ walletId: later.id, share: 10000 }] })).status).toBe(201);
    const capturedPlain = await capture(t, plain.body.id, buyer.userId);
    expect(capturedPlain.status).toBe(200);
    expect(capturedPlain.body).toMatchObject({ authorWalletId: first.id, royaltyTermsVersion: null, authorAmount: 70, payees: [{ walletId: first.id, amount: 70 }] });

    // The same validation as an immediate purchase; a refusal holds nothing.
    const notPayee = await hold({ itemPrice: 100, itemId: splitItem, authorWalletId: first.id });
    expect(notPayee.status).toBe(400);
    expect(JSON.stringify(notPayee.body)).toContain('authorWalletId');
    const noAuthor = await hold({ itemPrice: 100, itemId: `holds-none-${randomUUID()}` });
    expect(noAuthor.status).toBe(400);
    expect(JSON.stringify(noAuthor.body)).toContain('authorWalletId');
    const buyerPaid = await t.api.post('/purchases', {
      userId: later.userId,
      idempotencyKey: randomUUID(),
      body: { buyerWalletId: later.id, itemPrice: 1, itemId: splitItem, capture: false },
    });
    expect(buyerPaid.body.code).toBe('SELF_PURCHASE');
    expect(await balanceOf(t, buyer)).toBe(800);
    expect((await t.api.get(`/wallets/${buyer.id}`, { userId: buyer.userId })).body.heldBalance).toBe(0);
    await expectBooksBalanced(t.db.sql);
  });
});

// Expiry on its own app with a short HOLD_TTL, so that the other tests' holds cannot expire
// between their steps however slow the machine is.
describe('purchase hold expiry (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ env: { HOLD_TTL: '2s', HOLD_SWEEP_INTERVAL_MS: '200' } });
  });
  afterAll(async () => {
    await expectBooksBalanced(t.db.sql);
    await t.close();
  });

  it('the workers void a hold once HOLD_TTL has passed, and it can no longer be captured', async () => {
    const buyer = await createWallet(t.api, 1_000);
    const author = await createWallet(t.api);
    const held = await authorize(t, buyer, author, 250);
    expect(await balanceOf(t, buyer)).toBe(750);
    let status = 'authorized';
    for (let poll = 0; poll < POLLS_MAX && status === 'authorized'; poll++) {
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
      status = (await t.api.get(`/purchases/${held.body.id}`, { userId: buyer.userId })).body.status as string;
    }
    expect(status).toBe('expired');
    expect(await balanceOf(t, buyer)).toBe(1_000);
    const late = await capture(t, held.body.id, buyer.userId);
    expect(late.status).toBe(409);
    expect(late.body.code).toBe('PURCHASE_NOT_AUTHORIZED');
    const events = await t.api.get('/events?type=purchase.voided&limit=100', { userId: ADMIN_USER_ID });
    expect((events.body.items as { data: { id: string } }[]).some((event) => event.data.id === held.body.id)).toBe(true);
    await expectBooksBalanced(t.db.sql);
  });
});
