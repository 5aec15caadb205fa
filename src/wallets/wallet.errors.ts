import { DomainError, NotFoundError } from '../common/errors/domain-errors';
import { WalletSqlCode, pgErrorCode } from '../db/postgres-errors';

export class WalletNotFoundError extends NotFoundError {
  constructor() {
    super('wallet', 'WALLET_NOT_FOUND');
  }
}

export class InsufficientFundsError extends DomainError {
  constructor() {
    super('payment_required', 'INSUFFICIENT_FUNDS', 'The wallet balance does not cover this amount');
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

/** Turns the SQLSTATEs raised by the money functions into domain errors; rethrows the rest. */
export function rethrowWalletSqlError(error: unknown): never {
  switch (pgErrorCode(error)) {
    case WalletSqlCode.walletNotFound:
      throw new WalletNotFoundError();
    case WalletSqlCode.insufficientFunds:
      throw new InsufficientFundsError();
    case WalletSqlCode.authorWalletNotFound:
      throw new AuthorWalletNotFoundError();
    case WalletSqlCode.selfPurchase:
      throw new SelfPurchaseError();
    default:
      throw error;
  }
}
