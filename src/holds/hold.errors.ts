import { DomainError } from '../common/errors/domain-errors';

/** A capture or void of a purchase that is not (or no longer) an authorized hold: exactly one transition wins. */
export class PurchaseNotAuthorizedError extends DomainError {
  constructor(status: string) {
    super('conflict', 'PURCHASE_NOT_AUTHORIZED', `The purchase is not authorized: it is ${status}`);
  }
}

export class CaptureExceedsAuthorizedError extends DomainError {
  constructor(authorizedCents: number) {
    super('unprocessable', 'CAPTURE_EXCEEDS_AUTHORIZED', `amount is more than the authorized price (${authorizedCents} cents)`);
  }
}
