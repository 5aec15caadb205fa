import type { JobsOptions, WorkerOptions } from 'bullmq';

export const WEBHOOKS_QUEUE = 'webhook-deliveries';
export const DELIVER_JOB = 'deliver';

export interface DeliverJobData {
  deliveryId: string;
  endpointId: string;
}

/**
 * The job id names the delivery and its attempt, so the sweeper re-adding a job that still
 * waits is a no-op. The job is only a wake-up: PostgreSQL holds the delivery's state and
 * retries are scheduled as new delayed jobs by the service, so BullMQ itself never retries.
 */
export function deliverJobId(deliveryId: string, attemptCount: number): string {
  return `d_${deliveryId}_${attemptCount}`;
}

export const DELIVER_JOB_OPTIONS = {
  attempts: 1,
  removeOnComplete: true,
  // A failed job's id must not linger: the sweeper re-adds the same id for the same attempt.
  removeOnFail: true,
} as const satisfies JobsOptions;

/** A worker that dies mid-attempt loses the lock; the sweeper re-enqueues after the lease. */
export const WEBHOOK_WORKER_OPTIONS = {
  lockDuration: 60_000,
  stalledInterval: 30_000,
  maxStalledCount: 1,
} as const satisfies Partial<WorkerOptions>;

/** A claimed attempt's lease beyond the HTTP timeout, before the sweeper may retry it. */
export const ATTEMPT_LEASE_EXTRA_MS = 30_000;
/** An attempt this far overdue has lost its job; the sweeper enqueues it again. */
export const OVERDUE_GRACE_MS = 15_000;
export const SWEEP_EVERY_MS = 5_000;
export const SWEEP_BATCH_MAX = 500;
/** Events read per dispatch step; a full step is followed by another at once. */
export const DISPATCH_BATCH_MAX = 500;
/** How long an attempt refused for its endpoint's in-flight cap waits before trying again. */
export const ENDPOINT_BUSY_DELAY_MS = 250;
/** Secrets replaced by a rotation keep signing for this long. */
export const SECRET_ROTATION_GRACE_MS = 24 * 3_600_000;
/** GET /webhook-endpoints lists at most this many (oldest first). */
export const WEBHOOK_ENDPOINTS_LISTED_MAX = 100;
