import type { JobsOptions, WorkerOptions } from 'bullmq';

export const PAYOUT_RUN_QUEUE = 'payout-runs';
/** One scheduler id: every worker upserts the same one, so BullMQ keeps a single schedule. */
export const PAYOUT_RUN_SCHEDULER_ID = 'payout-run-every';
export const SCHEDULED_PAYOUT_RUN_JOB = 'scheduled-payout-run';

/**
 * The requester of scheduled runs: payout runs are unique per (requester, key), so the schedule
 * has a key space of its own that no administrator's Idempotency-Key can take.
 */
export const PAYOUT_SCHEDULE_REQUESTER_ID = '00000000-0000-0000-0000-000000000000';

/**
 * A run that fails (PostgreSQL away) is retried: the retry resumes the same run by its key, and
 * wallets already paid replay their payout instead of being paid twice.
 */
export const SCHEDULED_PAYOUT_RUN_JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 5_000 },
  removeOnComplete: { age: 7 * 24 * 3_600, count: 200 },
  removeOnFail: { age: 30 * 24 * 3_600, count: 200 },
} as const satisfies JobsOptions;

/** One run at a time per worker; a worker that dies loses the job lock and another resumes the run. */
export const PAYOUT_RUN_WORKER_OPTIONS = {
  concurrency: 1,
  lockDuration: 60_000,
  stalledInterval: 60_000,
  maxStalledCount: 2,
} as const satisfies Partial<WorkerOptions>;

/**
 * The start of the period a scheduled job belongs to. Schedules are aligned to the Unix epoch
 * (1d runs at 00:00 UTC), so the slot of a job is already a period start; flooring also maps a
 * job re-registered at another instant within the period to the same period, hence the same run.
 */
export function payoutPeriodStartMs(slotMs: number, everyMs: number): number {
  return Math.floor(slotMs / everyMs) * everyMs;
}

/** The first period start after `nowMs`: where a new schedule begins. */
export function nextPayoutPeriodStartMs(nowMs: number, everyMs: number): number {
  return payoutPeriodStartMs(nowMs, everyMs) + everyMs;
}

/** The idempotency key of the scheduled run of a period: its start, as an ISO instant. */
export function scheduledPayoutRunKey(periodStartMs: number): string {
  return `schedule:${new Date(periodStartMs).toISOString()}`;
}

/**
 * The slot of a scheduler's job from its id (`repeat:<scheduler>:<millis>`, BullMQ's format for
 * job scheduler iterations); undefined for any other job.
 */
export function slotOfJobId(jobId: string | undefined): number | undefined {
  const match = /^repeat:[^:]+:(\d+)$/.exec(jobId ?? '');
  return match ? Number(match[1]) : undefined;
}
