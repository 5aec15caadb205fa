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
 * A worker holds a job's lock for lockDurationMs and renews it while working; a worker that
 * dies loses the lock and the job is retried once as stalled, then failed.
 */
export const REPORT_WORKER_OPTIONS = {
  concurrency: 2,
  lockDuration: 30_000,
  stalledInterval: 30_000,
  maxStalledCount: 1,
} as const satisfies Partial<WorkerOptions>;
