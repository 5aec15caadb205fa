import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Caller } from '../common/auth/caller';
import { IdempotencyService, IdempotentOutcome } from '../idempotency/idempotency.service';
import { requestFingerprint } from '../idempotency/request-fingerprint';
import { WalletsService } from '../wallets/wallets.service';
import { RefundDto, toRefundDto } from './dto/refund.dto';
import { PurchaseNotFoundError, RefundExceedsRemainingError } from './purchase.errors';
import { PurchasesRepository } from './purchases.repository';
import { ExecutedRefund, RefundsRepository } from './refunds.repository';
import { assertRefundInvariants } from './royalty-split';

export interface RefundRequest {
  purchaseId: string;
  amountCents: number | undefined;
  reason: string | undefined;
  idempotencyKey: string;
}

/**
 * Refunds (ADR 0017): one refund_execute call each. They are rare next to purchases, so they
 * are not group-committed; every refund of a purchase takes its author's wallet lock, which is
 * what keeps concurrent refunds of one purchase from exceeding its price.
 */
@Injectable()
export class RefundsService {
  constructor(
    private readonly purchases: PurchasesRepository,
    private readonly refunds: RefundsRepository,
    private readonly wallets: WalletsService,
    private readonly idempotency: IdempotencyService,
  ) {}

  /** An admin or the purchase's author; anyone else gets the same 404 as for a purchase that does not exist. */
  async refund(caller: Caller, { purchaseId, amountCents, reason, idempotencyKey }: RefundRequest): Promise<IdempotentOutcome<RefundDto>> {
    const purchase = await this.purchases.findWithParties(purchaseId);
    if (purchase === undefined || !(caller.isAdmin || purchase.authorUserId === caller.userId)) {
      throw new PurchaseNotFoundError();
    }
    const fingerprint = requestFingerprint('refund', { purchaseId, amount: amountCents ?? null, reason: reason ?? null });
    return this.idempotency.execute({ callerId: caller.userId, operation: 'refund', key: idempotencyKey }, fingerprint, async () => {
      const result = await this.refunds.execute({
        refundId: randomUUID(),
        userId: caller.userId,
        idempotencyKey,
        requestHash: fingerprint,
        purchaseId,
        amountCents,
        reason,
        platformWalletId: this.wallets.platformWalletId,
      });
      if (result.outcome === 'purchase_not_found') throw new PurchaseNotFoundError();
      if (result.outcome === 'exceeds_remaining') throw new RefundExceedsRemainingError(result.remainingCents);
      assertRefundSplit(result.refund);
      return { body: toRefundDto(result.refund), replayed: result.outcome === 'replayed', storedFingerprint: result.requestHash };
    });
  }
}

/** The database computed the split; the same identities must hold here, or something is badly wrong. */
function assertRefundSplit(refund: ExecutedRefund): void {
  // A split refund's carries are sums over its payees (up to 990) and its parts may round past the
  // amount (ADR 0045): the two identities hold for the whole, the ranges per payee (refund_payees).
  const split = refund.carryBeforeCentiCents > 99 || refund.carryAfterCentiCents > 99 || refund.platformAmountCents < 0 || refund.authorAmountCents < 0;
  if (split) {
    const exact =
      refund.authorAmountCents + refund.platformAmountCents === refund.amountCents &&
      100 * refund.authorAmountCents + refund.carryBeforeCentiCents === refund.amountCents * refund.royaltyPercent + refund.carryAfterCentiCents;
    if (!exact) throw new Error(`split refund identities broken: ${JSON.stringify(refund)}`);
    return;
  }
  assertRefundInvariants(
    { refundAmountCents: refund.amountCents, royaltyPercent: refund.royaltyPercent, carryBeforeCentiCents: refund.carryBeforeCentiCents },
    {
      authorAmountCents: refund.authorAmountCents,
      platformAmountCents: refund.platformAmountCents,
      carryAfterCentiCents: refund.carryAfterCentiCents,
    },
  );
}
