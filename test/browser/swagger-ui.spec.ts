import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { BrowserContext, chromium, Locator, Page } from 'playwright-core';
import { createWallet } from '../factories/wallets.factory';
import { startTestApp, TestApp } from '../setup/test-app';

/**
 * A person's path through Swagger UI: authorize, create a wallet, deposit, buy, each through
 * "Try it out", reading what the page shows. Runs Debian's Chromium (installed by .ci/run).
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.resolve(__dirname, '..', '..', 'test-artifacts');
const UI_TIMEOUT_MS = 20_000;

describe('Swagger UI in a browser', () => {
  let t: TestApp;
  let browser: BrowserContext;
  let page: Page;
  let profileDir: string;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`No Chromium at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`);
    }
    t = await startTestApp();
    profileDir = mkdtempSync(path.join(tmpdir(), 'swagger-ui-profile-'));
    // A fresh profile directory per run: no state from earlier runs or other users.
    browser = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
      viewport: { width: 1280, height: 900 },
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.setDefaultTimeout(UI_TIMEOUT_MS);
  });

  afterAll(async () => {
    if (page) {
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, 'swagger-ui.png'), fullPage: true }).catch(() => undefined);
    }
    await browser?.close();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
    await t?.close();
  });

  /** Expands an operation, presses "Try it out", lets `fill` set inputs, executes, returns status and body. */
  async function tryItOut(
    operationId: string,
    fill: (operation: Locator) => Promise<void> = async () => undefined,
  ): Promise<{ status: number; body: any }> {
    const operation = page.locator(`#operations-${operationId}`);
    if (await operation.locator('button.execute').isVisible()) {
      // Already in "Try it out" from an earlier call: clear the last response first.
      await operation.locator('button.btn-clear').click();
    } else {
      await operation.locator('.opblock-summary').first().click();
      await operation.locator('button.try-out__btn').click();
    }
    await fill(operation);
    await operation.locator('button.execute').click();
    const live = operation.locator('.responses-wrapper .live-responses-table');
    const statusCell = live.locator('tbody .response .response-col_status').first();
    await statusCell.waitFor();
    const status = Number((await statusCell.innerText()).trim().split(/\s+/)[0]);
    const bodyText = await live.locator('.response-col_description pre.microlight, .response-col_description pre').first().innerText();
    return { status, body: JSON.parse(bodyText) };
  }

  async function setParameter(operation: Locator, name: string, value: string): Promise<void> {
    const input = operation.locator(`tr[data-param-name="${name}"] input`);
    await input.fill(value);
  }

  async function setBody(operation: Locator, json: object): Promise<void> {
    await operation.locator('textarea.body-param__text').fill(JSON.stringify(json, null, 2));
  }

  it('authorizes with a user id, creates a wallet, deposits and buys through "Try it out"', async () => {
    const buyerUserId = randomUUID();
    const author = await createWallet(t.api);

    await page.goto(`${t.baseUrl}/api`);
    await page.locator('.swagger-ui .information-container .title').waitFor();
    expect(await page.locator('.swagger-ui .information-container .title').innerText()).toContain('Wallet & Royalty Service');

    // Authorize: the X-User-Id scheme, as a gateway would set it.
    await page.locator('.auth-wrapper button.authorize').click();
    const dialog = page.locator('.dialog-ux .modal-ux');
    const userIdScheme = dialog.locator('.auth-container').filter({ hasText: 'X-User-Id' });
    await userIdScheme.locator('input').fill(buyerUserId);
    await userIdScheme.locator('button.authorize').click();
    // Swagger UI marks the scheme "Authorized" once it stores the value.
    await userIdScheme.getByText('Authorized', { exact: true }).waitFor();
    await dialog.locator('button.close-modal').click();

    const created = await tryItOut('wallets-WalletsController_create');
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ userId: buyerUserId, balance: 0, fractionalBalance: 0 });
    const walletId: string = created.body.id;

    const deposited = await tryItOut('wallets-WalletsController_deposit', async (operation) => {
      await setParameter(operation, 'walletId', walletId);
      await setParameter(operation, 'Idempotency-Key', `deposit-${randomUUID()}`);
      await setBody(operation, { amount: 5000 });
    });
    expect(deposited.status).toBe(201);
    expect(deposited.body).toMatchObject({ id: walletId, balance: 5000 });

    const purchased = await tryItOut('purchases-PurchasesController_create', async (operation) => {
      await setParameter(operation, 'Idempotency-Key', `purchase-${randomUUID()}`);
      await setBody(operation, { buyerWalletId: walletId, authorWalletId: author.id, itemPrice: 1999 });
    });
    expect(purchased.status).toBe(201);
    expect(purchased.body).toMatchObject({
      buyerWalletId: walletId,
      authorWalletId: author.id,
      itemPrice: 1999,
      authorAmount: 1399,
      platformAmount: 600,
      status: 'completed',
    });

    // The documented error shape, as the page shows it for a purchase the buyer cannot afford.
    const purchaseOperation = page.locator('#operations-purchases-PurchasesController_create');
    expect(await purchaseOperation.locator('tr.response[data-code="402"]').innerText()).toContain('INSUFFICIENT_FUNDS');
    const refused = await tryItOut('purchases-PurchasesController_create', async (operation) => {
      await setParameter(operation, 'Idempotency-Key', `purchase-${randomUUID()}`);
      await setBody(operation, { buyerWalletId: walletId, authorWalletId: author.id, itemPrice: 1_000_000 });
    });
    expect(refused.status).toBe(402);
    expect(refused.body).toMatchObject({ status: 402, code: 'INSUFFICIENT_FUNDS', requestId: expect.any(String) });

    mkdirSync(ARTIFACTS, { recursive: true });
    await page
      .locator('#operations-purchases-PurchasesController_create .responses-wrapper .live-responses-table')
      .screenshot({ path: path.join(ARTIFACTS, 'swagger-ui-purchase-refused.png') });

    // What the page showed is what the service holds.
    const buyer = await t.api.get(`/wallets/${walletId}`, { userId: buyerUserId });
    expect(buyer.body.balance).toBe(5000 - 1999);
    const authorAfter = await t.api.get(`/wallets/${author.id}`, { userId: author.userId });
    expect(authorAfter.body).toMatchObject({ balance: 1399, fractionalBalance: 30 });
  });
});
