import { DependencyUnavailableError, NotFoundError } from '../common/errors/domain-errors';

export class ReconciliationRunNotFoundError extends NotFoundError {
  constructor() {
    super('reconciliation run');
  }
}

export class ReconciliationQueueUnavailableError extends DependencyUnavailableError {
  constructor() {
    super('The reconciliation could not be queued: the job queue is unavailable');
  }
}

/** Another run holds the run lock; the job retries later (not a failure of the run itself). */
export class ReconciliationBusyError extends Error {
  constructor() {
    super('another reconciliation run is in progress');
    this.name = 'ReconciliationBusyError';
  }
}
