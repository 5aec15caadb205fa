import { DomainError, NotFoundError } from '../common/errors/domain-errors';
import type { WithdrawalStatus } from './payouts.repository';

export class WithdrawalNotFoundError extends NotFoundError {
  constructor() {
    super('withdrawal', 'WITHDRAWAL_NOT_FOUND');
  }
}

/** A settle or fail of a payout that is no longer pending: each transition happens once. */
export class WithdrawalNotPendingError extends DomainError {
  constructor(status: WithdrawalStatus) {
    super('conflict', 'WITHDRAWAL_NOT_PENDING', `The withdrawal is not pending: it is ${status}`);
  }
}

export class PayoutBelowMinimumError extends DomainError {
  constructor(minimumCents: number) {
    super('unprocessable', 'PAYOUT_BELOW_MINIMUM', `amount is below the payout minimum of ${minimumCents} cents`);
  }
}
