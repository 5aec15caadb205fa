import type { JobsOptions, WorkerOptions } from 'bullmq';

export const RECONCILIATION_QUEUE = 'reconciliation';
/** One scheduler id: every instance upserts the same one, so BullMQ keeps a single schedule. */
export const RECONCILIATION_SCHEDULER_ID = 'reconciliation-every';
export const SCHEDULED_RUN_JOB = 'scheduled-run';
export const MANUAL_RUN_JOB = 'manual-run';

export interface ReconciliationJobData {
  /** Set for a manual run (its row already exists); absent for a scheduled one. */
  runId?: string;
}

/**
 * A manual run whose job finds another run holding the lock waits for it by retrying: about
 * ten minutes in all, longer than a run takes at ten million ledger entries.
 */
export const MANUAL_RUN_JOB_OPTIONS = {
  attempts: 40,
  backoff: { type: 'fixed', delay: 15_000 },
  removeOnComplete: { age: 24 * 3_600, count: 1_000 },
  removeOnFail: { age: 7 * 24 * 3_600, count: 1_000 },
} as const satisfies JobsOptions;

/** A scheduled run that cannot start is simply skipped: the next one is minutes away. */
export const SCHEDULED_RUN_JOB_OPTIONS = {
  attempts: 1,
  removeOnComplete: { age: 24 * 3_600, count: 200 },
  removeOnFail: { age: 7 * 24 * 3_600, count: 200 },
} as const satisfies JobsOptions;

/** How long a request waits for Redis to accept the job before answering 503. */
export const ENQUEUE_TIMEOUT_MS = 2_000;

/**
 * A manual run whose job Redis lost is queued again (ADR 0057). Runs younger than this are left
 * alone: their request may still be adding the job (it gives up after ENQUEUE_TIMEOUT_MS).
 */
export const LOST_JOB_GRACE_MS = 10_000;
/** A manual run still queued this long after it was requested is failed (a new request is then accepted). */
export const QUEUED_RUN_GIVE_UP_AFTER_MS = 3_600_000;
/** Runs looked at per sweep; the next sweep takes the rest. */
export const LOST_JOB_SWEEP_LIMIT = 100;

/**
 * One run at a time per worker (the advisory lock makes it one per database anyway). A run
 * renews its job lock while it works; a worker that dies loses it and the job is stalled once.
 */
export const RECONCILIATION_WORKER_OPTIONS = {
  concurrency: 1,
  lockDuration: 60_000,
  stalledInterval: 60_000,
  maxStalledCount: 1,
} as const satisfies Partial<WorkerOptions>;
