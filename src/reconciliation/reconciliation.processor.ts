import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Job } from 'bullmq';
import { ReconciliationBusyError } from './reconciliation.errors';
import { RECONCILIATION_QUEUE, RECONCILIATION_WORKER_OPTIONS, ReconciliationJobData } from './reconciliation.queue';
import { ReconciliationService, RunResult } from './reconciliation.service';

/**
 * Runs reconciliation jobs (scheduled and manual) and, at start, registers the schedule. It is
 * a provider only in the worker and all roles.
 */
@Processor(RECONCILIATION_QUEUE, RECONCILIATION_WORKER_OPTIONS)
export class ReconciliationProcessor extends WorkerHost implements OnApplicationBootstrap {
  private readonly logger = new Logger(ReconciliationProcessor.name);

  constructor(private readonly reconciliation: ReconciliationService) {
    super();
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.reconciliation.ensureSchedule();
  }

  async process(job: Job<ReconciliationJobData>): Promise<RunResult> {
    const { runId } = job.data;
    if (runId === undefined) return this.reconciliation.runScheduled();
    try {
      return await this.reconciliation.runQueued(runId);
    } catch (error) {
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (error instanceof ReconciliationBusyError) {
        this.logger.debug({ runId, attempt: job.attemptsMade + 1 }, 'reconciliation waits for the run in progress');
        if (lastAttempt) await this.reconciliation.failRun(runId, 'Another run held the reconciliation lock throughout');
      }
      // A run that failed midway is already marked failed; a retry would start a new one.
      throw error;
    }
  }
}
