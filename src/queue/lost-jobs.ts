import type { Queue } from 'bullmq';

/** A row in PostgreSQL that a queued job should bring to an end (a report, a manual run). */
export interface UnfinishedWork {
  id: string;
  createdAt: Date;
}

export interface LostJobsOutcome {
  requeued: string[];
  failed: string[];
}

/**
 * Finds the jobs of unfinished rows that Redis no longer holds, and queues them again; gives
 * up on rows that waited too long. PostgreSQL is the record, the job only the trigger: a job
 * lost in Redis (a failover that dropped the last writes, a flush, a restart without
 * persistence) would otherwise leave its row `queued` for good (ADR 0057).
 *
 * The job id is the row id, so two sweepers that find the same loss add one job between them;
 * a row whose job ended (completed or failed) while the row did not is failed with `reason`
 * rather than run again, so that no row loops.
 */
export async function recoverLostJobs<Row extends UnfinishedWork>(params: {
  queue: Pick<Queue, 'getJob'>;
  rows: readonly Row[];
  now: Date;
  /** A row older than this is failed, whatever its job's state. */
  giveUpAfterMs: number;
  requeue: (row: Row) => Promise<void>;
  fail: (row: Row, reason: 'expired' | 'job_ended') => Promise<void>;
}): Promise<LostJobsOutcome> {
  const outcome: LostJobsOutcome = { requeued: [], failed: [] };
  for (const row of params.rows) {
    if (params.now.getTime() - row.createdAt.getTime() > params.giveUpAfterMs) {
      await params.fail(row, 'expired');
      outcome.failed.push(row.id);
      continue;
    }
    const job = await params.queue.getJob(row.id);
    const state = job ? await job.getState() : 'unknown';
    if (state === 'unknown') {
      await params.requeue(row);
      outcome.requeued.push(row.id);
    } else if (state === 'completed' || state === 'failed') {
      await params.fail(row, 'job_ended');
      outcome.failed.push(row.id);
    }
  }
  return outcome;
}

/**
 * Runs `sweep` every `intervalMs` in the background, one sweep at a time, until stopped. A sweep
 * that fails (Redis or PostgreSQL down) is reported to `onError` and tried again next time.
 */
export function everyInterval(intervalMs: number, sweep: () => Promise<void>, onError: (error: unknown) => void): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    sweep()
      .catch(onError)
      .finally(() => {
        running = false;
      });
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
