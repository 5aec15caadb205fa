import { DomainError, NotFoundError } from '../common/errors/domain-errors';
import { retryTransient } from '../db/database';
import { PgCode, WalletSqlCode, pgErrorCode } from '../db/postgres-errors';

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

/**
 * Runs one call of a money function (deposit, withdrawal, purchase), retrying deadlocks and
 * serialization failures; a unique violation on the idempotency key means a same-key request
 * committed first, so one more call replays it. Its SQLSTATEs come back as domain errors.
 */
export async function callMoneyFunction<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await retryTransient(call);
  } catch (error) {
    if (pgErrorCode(error) !== PgCode.uniqueViolation) rethrowWalletSqlError(error);
    try {
      return await call();
    } catch (retryError) {
      rethrowWalletSqlError(retryError);
    }
  }
}
