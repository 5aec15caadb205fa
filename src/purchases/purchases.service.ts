import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Caller } from '../common/auth/caller';
import { AppConfig } from '../config/app-config';
import { isDatabaseUnavailableError } from '../db/postgres-errors';
import { IdempotencyService, IdempotentOutcome } from '../idempotency/idempotency.service';
import { requestFingerprint } from '../idempotency/request-fingerprint';
import { WalletsService } from '../wallets/wallets.service';
import { PURCHASE_REFUNDS_LISTED_MAX, PurchaseDto, toPurchaseDto } from './dto/purchase.dto';
import { PurchaseNotFoundError, SelfPurchaseError } from './purchase.errors';
import { Batcher } from '../common/batching/batcher';
import { ExecutedPurchase, ExecutePurchaseCall, PurchasesRepository } from './purchases.repository';
import { RefundsRepository } from './refunds.repository';
import { assertSplitInvariants } from './royalty-split';

export interface PurchaseRequest {
  buyerWalletId: string;
  authorWalletId: string;
  itemPriceCents: number;
  idempotencyKey: string;
}

@Injectable()
export class PurchasesService {
  /**
   * Group commit: concurrent purchases share transactions; one author's purchases share a
   * lane, so its wallet row is locked once per batch rather than once per purchase.
   */
  private readonly batcher: Batcher<ExecutePurchaseCall, ExecutedPurchase>;

  constructor(
    private readonly repository: PurchasesRepository,
    private readonly refunds: RefundsRepository,
    private readonly wallets: WalletsService,
    private readonly idempotency: IdempotencyService,
    private readonly config: AppConfig,
  ) {
    this.batcher = new Batcher(
      {
        // Lanes bound the purchase transactions in flight (each holds one pooled connection);
        // the batch size bounds a batch's lock time and statement size.
        lanes: config.purchaseBatching.lanes,
        batchSizeMax: config.purchaseBatching.batchSizeMax,
        laneKey: (call) => call.authorWalletId,
        dedupeKey: (call) => `${call.userId}:${call.idempotencyKey}`,
        // During an outage the queue fails with the batch: one bounded wait, not one per batch (ADR 0038).
        failQueuedOn: isDatabaseUnavailableError,
      },
      (calls) => this.repository.executeBatch(calls),
    );
  }

  async purchase(
    caller: Caller,
    { buyerWalletId, authorWalletId, itemPriceCents, idempotencyKey }: PurchaseRequest,
  ): Promise<IdempotentOutcome<PurchaseDto>> {
    const fingerprint = requestFingerprint('purchase', { buyerWalletId, authorWalletId, itemPrice: itemPriceCents });
    return this.idempotency.execute(
      { callerId: caller.userId, operation: 'purchase', key: idempotencyKey },
      fingerprint,
      async () => {
        // Checked before the database only to answer fast; purchase_execute_batch checks it too.
        if (buyerWalletId === authorWalletId) throw new SelfPurchaseError();
        const executed = await this.batcher.submit({
          purchaseId: randomUUID(),
          userId: caller.userId,
          idempotencyKey,
          requestHash: fingerprint,
          buyerWalletId,
          authorWalletId,
          itemPriceCents,
          royaltyPercent: this.config.authorRoyaltyPercent,
          platformWalletId: this.wallets.platformWalletId,
        });
        assertPurchaseSplit(executed);
        return { body: toPurchaseDto(executed), replayed: executed.replayed, storedFingerprint: executed.requestHash };
      },
    );
  }

  /** Buyer, author or admin; anyone else gets the same 404 as for a purchase that does not exist. */
  async getPurchase(caller: Caller, purchaseId: string): Promise<PurchaseDto> {
    const purchase = await this.repository.findWithParties(purchaseId);
    const mayRead =
      purchase !== undefined &&
      (caller.isAdmin || purchase.buyerUserId === caller.userId || purchase.authorUserId === caller.userId);
    if (!mayRead) throw new PurchaseNotFoundError();
    const { refundedCents, refunds } = await this.refunds.refundsOf(purchaseId, PURCHASE_REFUNDS_LISTED_MAX);
    return toPurchaseDto(purchase, refunds, refundedCents);
  }
}

/** The database computed the split; the same identities must hold here, or something is badly wrong. */
function assertPurchaseSplit(purchase: ExecutedPurchase): void {
  assertSplitInvariants(
    {
      itemPriceCents: purchase.itemPriceCents,
      royaltyPercent: purchase.royaltyPercent,
      carryBeforeCentiCents: purchase.carryBeforeCentiCents,
    },
    {
      authorAmountCents: purchase.authorAmountCents,
      platformAmountCents: purchase.platformAmountCents,
      carryAfterCentiCents: purchase.carryAfterCentiCents,
    },
  );
}
