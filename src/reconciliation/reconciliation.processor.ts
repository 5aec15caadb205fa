import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { BeforeApplicationShutdown, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Job } from 'bullmq';
import { AppConfig } from '../config/app-config';
import { closeWorkerWithin, JobsInFlight, WorkerErrorLog, workerDrainTimeoutMs } from '../queue/worker-shutdown';
import { ReconciliationBusyError } from './reconciliation.errors';
import { RECONCILIATION_QUEUE, RECONCILIATION_WORKER_OPTIONS, ReconciliationJobData } from './reconciliation.queue';
import { ReconciliationService, RunResult } from './reconciliation.service';

/** How often a worker checks that the repeatable schedule still exists in Redis. */
const SCHEDULE_CHECK_INTERVAL_MS = 60_000;

/**
 * Runs reconciliation jobs (scheduled and manual) and, at start, registers the schedule. It is
 * a provider only in the worker and all roles.
 */
@Processor(RECONCILIATION_QUEUE, RECONCILIATION_WORKER_OPTIONS)
export class ReconciliationProcessor
  extends WorkerHost
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger(ReconciliationProcessor.name);
  private readonly jobs = new JobsInFlight();
  private readonly errors = new WorkerErrorLog(RECONCILIATION_QUEUE, this.logger);
  private scheduleWatch: NodeJS.Timeout | undefined;

  constructor(
    private readonly reconciliation: ReconciliationService,
    private readonly config: AppConfig,
  ) {
    super();
  }

  /**
   * Registers the schedule in the background: the queue connection waits for Redis without
   * limit, and a process must start (and serve money requests) while Redis is down. Redis
   * also keeps nothing across a restart here, so the schedule is re-checked every minute.
   */
  onApplicationBootstrap(): void {
    const register = () =>
      this.reconciliation.restoreScheduleIfLost().catch((error: unknown) => {
        this.logger.debug({ err: error instanceof Error ? error.message : String(error) }, 'schedule check skipped: Redis unavailable');
      });
    void register();
    this.scheduleWatch = setInterval(register, SCHEDULE_CHECK_INTERVAL_MS);
    this.scheduleWatch.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.scheduleWatch);
  }

  @OnWorkerEvent('error')
  onError(error: Error): void {
    this.errors.report(error);
  }

  /** Before @nestjs/bullmq's own close, which would wait without bound (see closeWorkerWithin). */
  beforeApplicationShutdown(): Promise<void> {
    return closeWorkerWithin(this.worker, this.jobs, { drainTimeoutMs: workerDrainTimeoutMs(this.config.http.shutdownTimeoutMs), logger: this.logger });
  }

  process(job: Job<ReconciliationJobData>): Promise<RunResult> {
    return this.jobs.track(() => this.run(job));
  }

  private async run(job: Job<ReconciliationJobData>): Promise<RunResult> {
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
