import { DomainError, NotFoundError } from '../common/errors/domain-errors';

export class PurchaseNotFoundError extends NotFoundError {
  constructor() {
    super('purchase', 'PURCHASE_NOT_FOUND');
  }
}

export class AuthorWalletNotFoundError extends DomainError {
  constructor() {
    super('bad_request', 'AUTHOR_WALLET_NOT_FOUND', 'authorWalletId does not name an existing wallet');
  }
}

export class SelfPurchaseError extends DomainError {
  constructor() {
    super('bad_request', 'SELF_PURCHASE', 'buyerWalletId and authorWalletId must be different wallets');
  }
}

export class RefundExceedsRemainingError extends DomainError {
  constructor(remainingCents: number) {
    super(
      'unprocessable',
      'REFUND_EXCEEDS_REMAINING',
      `amount is more than what is left to refund on this purchase (${remainingCents} cents)`,
      { details: { remaining: remainingCents } },
    );
  }
}
