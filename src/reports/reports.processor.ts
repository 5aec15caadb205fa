import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { BeforeApplicationShutdown, Logger } from '@nestjs/common';
import { Job, UnrecoverableError } from 'bullmq';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { closeWorkerWithin, JobsInFlight, WorkerErrorLog, workerDrainTimeoutMs } from '../queue/worker-shutdown';
import { ReportPeriodInvalidError } from './report.errors';
import { FinancialReportJobData, REPORT_WORKER_OPTIONS, REPORTS_QUEUE } from './reports.queue';
import { ReportRunOutcome, ReportsService } from './reports.service';

/**
 * Computes queued financial reports. A failed attempt is retried with backoff; the report row
 * is marked failed only when no attempt is left, or at once when retrying cannot help.
 */
@Processor(REPORTS_QUEUE, REPORT_WORKER_OPTIONS)
export class ReportsProcessor extends WorkerHost implements BeforeApplicationShutdown {
  private readonly logger = new Logger(ReportsProcessor.name);
  private readonly jobs = new JobsInFlight();
  private readonly errors = new WorkerErrorLog(REPORTS_QUEUE, this.logger);

  constructor(
    private readonly reports: ReportsService,
    private readonly metrics: MetricsService,
    private readonly config: AppConfig,
  ) {
    super();
  }

  process(job: Job<FinancialReportJobData>): Promise<ReportRunOutcome> {
    return this.jobs.track(() => this.run(job));
  }

  @OnWorkerEvent('error')
  onError(error: Error): void {
    this.errors.report(error);
  }

  /** Before @nestjs/bullmq's own close, which would wait without bound (see closeWorkerWithin). */
  beforeApplicationShutdown(): Promise<void> {
    return closeWorkerWithin(this.worker, this.jobs, { drainTimeoutMs: workerDrainTimeoutMs(this.config.http.shutdownTimeoutMs), logger: this.logger });
  }

  private async run(job: Job<FinancialReportJobData>): Promise<ReportRunOutcome> {
    const { reportId } = job.data;
    try {
      const outcome = await this.reports.runFinancialReport(reportId);
      if (outcome === 'skipped') this.logger.warn({ reportId, jobId: job.id }, 'report already finished; job skipped');
      return outcome;
    } catch (error) {
      const permanent = error instanceof ReportPeriodInvalidError;
      const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      this.logger.error({ reportId, attempt: job.attemptsMade + 1, err: error }, 'financial report attempt failed');
      if (permanent || lastAttempt) await this.reports.failFinancialReport(reportId, error);
      if (error instanceof ReportPeriodInvalidError) throw new UnrecoverableError(error.message);
      throw error;
    }
  }

  @OnWorkerEvent('completed')
  onCompleted(job: Job<FinancialReportJobData>): void {
    this.metrics.queueJobs.inc({ queue: REPORTS_QUEUE, job: job.name, outcome: 'completed' });
  }

  @OnWorkerEvent('failed')
  onFailed(job: Job<FinancialReportJobData> | undefined, error: Error): void {
    const final =
      !job || error instanceof UnrecoverableError || error.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
    this.metrics.queueJobs.inc({ queue: REPORTS_QUEUE, job: job?.name ?? 'unknown', outcome: final ? 'failed' : 'retried' });
  }
}
