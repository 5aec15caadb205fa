import { DomainError } from '../common/errors/domain-errors';

export class IdempotencyInFlightError extends DomainError {
  constructor() {
    super('conflict', 'IDEMPOTENCY_KEY_IN_FLIGHT', 'A request with this Idempotency-Key is still being processed', {
      retryAfterSeconds: 1,
    });
  }
}

export class IdempotencyKeyReusedError extends DomainError {
  constructor() {
    super(
      'unprocessable',
      'IDEMPOTENCY_KEY_REUSED',
      'This Idempotency-Key was already used with a different request payload',
    );
  }
}
