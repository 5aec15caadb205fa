import { NotFoundError, RequestValidationError } from '../common/errors/domain-errors';

export class WebhookEndpointNotFoundError extends NotFoundError {
  constructor() {
    super('webhook endpoint');
  }
}

export class EventNotFoundError extends NotFoundError {
  constructor() {
    super('event');
  }
}

/** A URL the SSRF rules refuse (ADR 0031): a 400 naming `url`. */
export class WebhookUrlRefusedError extends RequestValidationError {
  constructor(reason: string) {
    super([{ field: 'url', message: reason }]);
  }
}
