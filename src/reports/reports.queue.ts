import type { JobsOptions, WorkerOptions } from 'bullmq';

export const REPORTS_QUEUE = 'reports';
export const FINANCIAL_REPORT_JOB = 'financial-report';

export interface FinancialReportJobData {
  reportId: string;
}

/**
 * A report reads a bounded number of rows, so a failure is a dependency problem worth a couple
 * of spaced retries, not a long retry storm. Finished jobs are kept only briefly: the report's
 * row in PostgreSQL is the record, the job is just the trigger.
 */
export const FINANCIAL_REPORT_JOB_OPTIONS = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 2_000 },
  removeOnComplete: { age: 24 * 3_600, count: 1_000 },
  removeOnFail: { age: 7 * 24 * 3_600, count: 5_000 },
} as const satisfies JobsOptions;

/** How long a request waits for Redis to accept the job before answering 503. */
export const ENQUEUE_TIMEOUT_MS = 2_000;

/**
 * A report whose job Redis lost is queued again (ADR 0057). Rows younger than this are left
 * alone: their request may still be adding the job (it gives up after ENQUEUE_TIMEOUT_MS).
 */
export const LOST_JOB_GRACE_MS = 10_000;
/** A report still unfinished this long after it was requested is failed: ask for it again. */
export const REPORT_GIVE_UP_AFTER_MS = 3_600_000;
/** Reports looked at per sweep; the next sweep takes the rest. */
export const LOST_JOB_SWEEP_LIMIT = 100;

/**
 * A worker holds a job's lock for lockDurationMs and renews it while working; a worker that
 * dies loses the lock and the job is retried once as stalled, then failed.
 */
export const REPORT_WORKER_OPTIONS = {
  concurrency: 2,
  lockDuration: 30_000,
  stalledInterval: 30_000,
  maxStalledCount: 1,
} as const satisfies Partial<WorkerOptions>;
