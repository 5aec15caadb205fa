import { DomainError, NotFoundError } from '../common/errors/domain-errors';

export class ReportNotFoundError extends NotFoundError {
  constructor() {
    super('report', 'REPORT_NOT_FOUND');
  }
}

export class ReportQueueUnavailableError extends DomainError {
  constructor() {
    super('unavailable', 'REPORT_QUEUE_UNAVAILABLE', 'The report queue is unavailable; no report was queued, try again later', {
      retryAfterSeconds: 5,
    });
  }
}

/** A stored report whose period cannot be computed; retrying would fail the same way. */
export class ReportPeriodInvalidError extends DomainError {
  constructor(reason: string) {
    super('unprocessable', 'REPORT_PERIOD_INVALID', `The stored report period is invalid: ${reason}`);
  }
}
