import { Logger } from '@nestjs/common';
import type { Worker } from 'bullmq';

/**
 * How long shutdown waits for the jobs a worker is running: half of SHUTDOWN_TIMEOUT_MS, so that
 * closing the connections afterwards still fits in it. A job cut off then is not lost: its lock
 * expires and the stalled-job check of a live worker runs it again (report and reconciliation
 * claims are conditional updates; webhook attempts are recorded in PostgreSQL).
 */
export function workerDrainTimeoutMs(shutdownTimeoutMs: number): number {
  return Math.floor(shutdownTimeoutMs / 2);
}

/** The same worker error is logged at warn at most once per this interval, then at debug. */
const WORKER_ERROR_WARN_INTERVAL_MS = 60_000;

/**
 * Counts the jobs a worker's process function is running, so that shutdown can wait for them
 * without BullMQ's graceful close (see closeWorkerWithin).
 */
export class JobsInFlight {
  private running = 0;
  private waiters: (() => void)[] = [];

  async track<T>(run: () => Promise<T>): Promise<T> {
    this.running++;
    try {
      return await run();
    } finally {
      this.running--;
      if (this.running === 0) for (const wake of this.waiters.splice(0)) wake();
    }
  }

  /** True once no job runs; false if some still ran after `timeoutMs`. */
  async whenIdle(timeoutMs: number): Promise<boolean> {
    if (this.running === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    let wake: (() => void) | undefined;
    const idle = new Promise<boolean>((resolve) => {
      wake = () => resolve(true);
      this.waiters.push(wake);
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await idle;
    } finally {
      clearTimeout(timer);
      this.waiters = this.waiters.filter((waiter) => waiter !== wake);
    }
  }
}

/**
 * Closes a worker in bounded time: waits (at most `drainTimeoutMs`) for its running jobs, then
 * closes it without BullMQ's wait.
 *
 * BullMQ's graceful `close()` first disconnects the worker's blocking connection and waits for
 * its `end` event. When that connection is between two reconnect attempts (no socket: Redis was
 * down, or demoted to a replica and back, moments before), ioredis's `disconnect()` only cancels
 * the retry timer and never emits `end`, so `close()` never returns and shutdown hangs
 * (measured: over 95 s, i.e. for good, after a demotion and promotion of the Redis). A forced
 * close disconnects without waiting; the jobs were waited for here instead. `close()` is
 * memoised, so the close @nestjs/bullmq issues at application shutdown gets this one.
 */
export async function closeWorkerWithin(
  worker: Pick<Worker, 'name' | 'close'>,
  jobs: JobsInFlight,
  options: { drainTimeoutMs: number; logger: Logger },
): Promise<void> {
  const drained = await jobs.whenIdle(options.drainTimeoutMs);
  if (!drained) {
    options.logger.warn(
      { queue: worker.name, drainTimeoutMs: options.drainTimeoutMs },
      'jobs still running at shutdown; closing the worker anyway (their locks expire and they run again)',
    );
  }
  await worker.close(true);
}

/** Distinct error messages remembered per worker; a longer list is started afresh. */
const WORKER_ERROR_MESSAGES_MAX = 100;

/**
 * What a worker's `error` listener does (BullMQ prints errors nobody listens to as "Unhandled
 * error" on stderr). A worker repeats the same error on every retry while Redis refuses it
 * (READONLY on a demoted master, a blocking command unblocked by a role change), so each
 * distinct message goes to warn once a minute and to debug otherwise.
 */
export class WorkerErrorLog {
  private readonly warnedAt = new Map<string, number>();

  constructor(
    private readonly queue: string,
    private readonly logger: Logger,
  ) {}

  report(error: Error): void {
    const now = Date.now();
    const last = this.warnedAt.get(error.message);
    if (last !== undefined && now - last < WORKER_ERROR_WARN_INTERVAL_MS) {
      this.logger.debug({ queue: this.queue, err: error.message }, 'queue worker error');
      return;
    }
    if (this.warnedAt.size >= WORKER_ERROR_MESSAGES_MAX) this.warnedAt.clear();
    this.warnedAt.set(error.message, now);
    this.logger.warn({ queue: this.queue, err: error.message }, 'queue worker error');
  }
}
