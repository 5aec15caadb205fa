import { DomainError, NotFoundError } from '../common/errors/domain-errors';
import { retryTransient } from '../db/database';
import {
  isDatabaseUnavailableError,
  isRetryableTransactionError,
  PgCode,
  WalletSqlCode,
  pgErrorCode,
} from '../db/postgres-errors';

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

/** A whole batch is re-run at most this many times (deadlock, serialization, key race). */
const BATCH_ATTEMPTS_MAX = 3;

/**
 * Runs one call of a batched money function. A unique violation means another instance
 * committed one of the batch's keys first: running the batch again turns that item into a
 * replay; deadlocks and serialization failures are re-run too. Undefined means "run the items
 * one by one": something unexpected failed the whole batch, and one bad item must not fail its
 * neighbours. An unreachable database, or a batch of one, fails as it is.
 */
export async function callMoneyBatch<R>(run: () => Promise<R[]>, itemCount: number): Promise<R[] | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      const keyRace = pgErrorCode(error) === PgCode.uniqueViolation;
      if ((keyRace || isRetryableTransactionError(error)) && attempt < BATCH_ATTEMPTS_MAX) continue;
      if (isDatabaseUnavailableError(error) || itemCount === 1) throw error;
      return undefined;
    }
  }
}
