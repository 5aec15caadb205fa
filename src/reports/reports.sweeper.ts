import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { everyInterval } from '../queue/lost-jobs';
import { FINANCIAL_REPORT_JOB, REPORTS_QUEUE } from './reports.queue';
import { ReportsService } from './reports.service';

/**
 * Looks for report jobs that Redis lost, every JOB_SWEEP_INTERVAL_MS, in worker roles (ADR 0057).
 * Every worker sweeps; they agree through the job id (the report id) and conditional updates.
 */
@Injectable()
export class ReportsSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ReportsSweeper.name);
  private stop: (() => void) | undefined;

  constructor(
    private readonly reports: ReportsService,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
  ) {}

  onApplicationBootstrap(): void {
    this.stop = everyInterval(
      this.config.jobSweepIntervalMs,
      async () => {
        const { requeued, failed } = await this.reports.recoverLostJobs();
        const labels = { queue: REPORTS_QUEUE, job: FINANCIAL_REPORT_JOB };
        if (requeued.length > 0) this.metrics.queueJobs.inc({ ...labels, outcome: 'requeued' }, requeued.length);
        if (failed.length > 0) this.metrics.queueJobs.inc({ ...labels, outcome: 'abandoned' }, failed.length);
      },
      (error) => this.logger.debug({ err: error instanceof Error ? error.message : String(error) }, 'report sweep skipped'),
    );
  }

  onApplicationShutdown(): void {
    this.stop?.();
  }
}
