import { randomUUID } from 'node:crypto';
import type { ApiClient } from '../setup/api-client';

export interface TestWallet {
  id: string;
  userId: string;
}

/** A new user with a wallet, created over HTTP, optionally funded. */
export async function createWallet(api: ApiClient, fundCents = 0): Promise<TestWallet> {
  const userId = randomUUID();
  const created = await api.post('/wallets', { userId });
  if (created.status !== 201) throw new Error(`wallet creation failed: ${created.status} ${JSON.stringify(created.body)}`);
  const wallet = { id: created.body.id as string, userId };
  if (fundCents > 0) await deposit(api, wallet, fundCents);
  return wallet;
}

export async function deposit(api: ApiClient, wallet: TestWallet, amountCents: number): Promise<void> {
  const response = await api.post(`/wallets/${wallet.id}/deposit`, { userId: wallet.userId, body: { amount: amountCents } });
  if (response.status !== 201) throw new Error(`deposit failed: ${response.status} ${JSON.stringify(response.body)}`);
}

export function purchase(
  api: ApiClient,
  buyer: TestWallet,
  author: TestWallet,
  itemPrice: number,
  idempotencyKey: string = randomUUID(),
) {
  return api.post('/purchases', {
    userId: buyer.userId,
    idempotencyKey,
    body: { buyerWalletId: buyer.id, authorWalletId: author.id, itemPrice },
  });
}

/** A refund as `caller` (an admin or the purchase's author), optionally of `amountCents`. */
export function refund(
  api: ApiClient,
  callerUserId: string,
  purchaseId: string,
  body: { amount?: number; reason?: string } = {},
  idempotencyKey: string = randomUUID(),
) {
  return api.post(`/purchases/${purchaseId}/refunds`, { userId: callerUserId, idempotencyKey, body });
}
