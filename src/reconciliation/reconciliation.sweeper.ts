import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { everyInterval } from '../queue/lost-jobs';
import { MANUAL_RUN_JOB, RECONCILIATION_QUEUE } from './reconciliation.queue';
import { ReconciliationService } from './reconciliation.service';

/**
 * Looks for manual-run jobs and the next scheduled job that Redis lost, every
 * JOB_SWEEP_INTERVAL_MS, in worker roles (ADR 0057). Every worker sweeps; they agree through
 * the job id (the run id) and conditional updates.
 */
@Injectable()
export class ReconciliationSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ReconciliationSweeper.name);
  private stop: (() => void) | undefined;

  constructor(
    private readonly reconciliation: ReconciliationService,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {}

  onApplicationBootstrap(): void {
    this.stop = everyInterval(
      this.config.jobSweepIntervalMs,
      async () => {
        const { requeued, failed } = await this.reconciliation.recoverLostJobs();
        const labels = { queue: RECONCILIATION_QUEUE, job: MANUAL_RUN_JOB };
        if (requeued.length > 0) this.metrics.queueJobs.inc({ ...labels, outcome: 'requeued' }, requeued.length);
        if (failed.length > 0) this.metrics.queueJobs.inc({ ...labels, outcome: 'abandoned' }, failed.length);
        await this.reconciliation.restoreScheduleIfStalled();
      },
      (error) => this.logger.debug({ err: error instanceof Error ? error.message : String(error) }, 'reconciliation sweep skipped'),
    );
  }

  onApplicationShutdown(): void {
    this.stop?.();
  }
}
