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

/**
 * The sweeper's job for an overdue delivery has an id of its own. Re-adding the attempt's own id
 * would be a no-op while a job of that id is still in Redis, and a worker killed after taking
 * the job but before claiming the delivery leaves it `active` under its lock until BullMQ's
 * stalled check (lockDuration plus stalledInterval, up to 90 s). The same holds for a sweep job
 * itself: since attempts over an endpoint's cap complete their job when they park (ADR 0071),
 * a parked delivery lost with its process is rescued by a sweep job, and that one may be
 * stranded too. So the id names the sweep round as well (`sweepRound`): sweeping a backlog
 * again within a round adds nothing, and a stranded sweep job blocks its delivery for one round
 * at most.
 */
export function sweepJobId(deliveryId: string, attemptCount: number, round: number): string {
  return `s_${deliveryId}_${attemptCount}_${round}`;
}

/** A sweep round: 4 overdue graces (12 sweep intervals, 60 s by default). */
export function sweepRound(nowMs: number, sweepIntervalMs: number): number {
  return Math.floor(nowMs / (4 * overdueGraceMs(sweepIntervalMs)));
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

/**
 * Recovery timing, from WEBHOOK_SWEEP_INTERVAL_MS (5 s by default): the sweeper runs every
 * interval; a delivery whose attempt is more than 3 intervals overdue (15 s) has lost its job
 * and is queued again; a claimed attempt holds its delivery for the HTTP timeout plus 6
 * intervals (30 s), enough to record the outcome, before the sweeper may attempt it again.
 */
export function overdueGraceMs(sweepIntervalMs: number): number {
  return 3 * sweepIntervalMs;
}

export function attemptLeaseMs(timeoutMs: number, sweepIntervalMs: number): number {
  return timeoutMs + 6 * sweepIntervalMs;
}
export const SWEEP_BATCH_MAX = 500;
/** Events read per dispatch step; a full step is followed by another at once. */
export const DISPATCH_BATCH_MAX = 500;
/**
 * Attempts parked per process while their endpoint is at its in-flight cap (ADR 0071); past
 * this, a refused attempt goes back to the queue as a delayed job instead.
 */
export const PARKED_ATTEMPTS_MAX = 10_000;
/** How long an attempt refused for its endpoint's in-flight cap waits when it cannot be parked. */
export const ENDPOINT_BUSY_DELAY_MS = 250;
/** Secrets replaced by a rotation keep signing for this long. */
export const SECRET_ROTATION_GRACE_MS = 24 * 3_600_000;
/** GET /webhook-endpoints lists at most this many (oldest first). */
export const WEBHOOK_ENDPOINTS_LISTED_MAX = 100;
