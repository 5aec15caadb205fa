import { NotFoundError } from '../common/errors/domain-errors';

export class PurchaseNotFoundError extends NotFoundError {
  constructor() {
    super('purchase', 'PURCHASE_NOT_FOUND');
  }
}
