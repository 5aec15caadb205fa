import { DomainError, NotFoundError } from '../common/errors/domain-errors';
import { pgErrorCode, WalletSqlCode } from '../db/postgres-errors';

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

/** Turns the SQLSTATEs raised by wallet_withdraw (through wallet_debit) into domain errors; rethrows the rest. */
export function rethrowWalletSqlError(error: unknown): never {
  switch (pgErrorCode(error)) {
    case WalletSqlCode.walletNotFound:
      throw new WalletNotFoundError();
    case WalletSqlCode.insufficientFunds:
      throw new InsufficientFundsError();
    default:
      throw error;
  }
}
