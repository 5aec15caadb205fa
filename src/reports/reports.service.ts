import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import { listenToQueueErrors } from '../queue/queue.module';
import { Queue } from 'bullmq';
import { Caller } from '../common/auth/caller';
import { DomainError, ForbiddenError, RequestValidationError } from '../common/errors/domain-errors';
import { WalletsService } from '../wallets/wallets.service';
import {
  AuthorRoyaltiesDto,
  TOP_AUTHORS_LIMIT_DEFAULT,
  TopAuthorsDto,
  toAuthorRankingDto,
  toAuthorRoyaltiesDto,
} from './dto/authors.dto';
import {
  FinancialReportDto,
  ReportQueuedDto,
  toFinancialReportDto,
  toFinancialReportResultDto,
} from './dto/financial-report.dto';
import { ReportNotFoundError, ReportPeriodInvalidError, ReportQueueUnavailableError } from './report.errors';
import { checkPeriod, parsePeriod, Period, periodSegments } from './report-period';
import {
  ENQUEUE_TIMEOUT_MS,
  FINANCIAL_REPORT_JOB,
  FINANCIAL_REPORT_JOB_OPTIONS,
  FinancialReportJobData,
  LOST_JOB_GRACE_MS,
  LOST_JOB_SWEEP_LIMIT,
  REPORT_GIVE_UP_AFTER_MS,
  REPORTS_QUEUE,
} from './reports.queue';
import { ReportsRepository } from './reports.repository';
import { LostJobsOutcome, recoverLostJobs } from '../queue/lost-jobs';
import { withTimeout } from '../common/async/with-timeout';

export type ReportRunOutcome = 'completed' | 'skipped';

@Injectable()
export class ReportsService {
  private readonly logger = new Logger(ReportsService.name);

  constructor(
    private readonly repository: ReportsRepository,
    private readonly wallets: WalletsService,
    @InjectQueue(REPORTS_QUEUE) private readonly queue: Queue<FinancialReportJobData>,
  ) {
    listenToQueueErrors(queue, this.logger);
  }

  /**
   * Stores the report as queued and enqueues its job (the job id is the report id, so a
   * duplicate add is a no-op). If Redis does not take the job in time the report is marked
   * failed before the client hears about it, so none is left waiting forever.
   */
  async requestFinancialReport(caller: Caller, input: { from?: string; to?: string }): Promise<ReportQueuedDto> {
    if (!caller.isAdmin) throw new ForbiddenError();
    const period = parsePeriod(input, { required: false });
    const report = await this.repository.insertReport({ requestedBy: caller.userId, period });
    try {
      await withTimeout(
        this.queue.add(FINANCIAL_REPORT_JOB, { reportId: report.id }, { ...FINANCIAL_REPORT_JOB_OPTIONS, jobId: report.id }),
        ENQUEUE_TIMEOUT_MS,
      );
    } catch (error) {
      this.logger.error({ reportId: report.id, err: error }, 'financial report could not be queued');
      // Should the job still reach Redis later, the worker finds the report failed and skips it.
      await this.repository.failReport(report.id, 'The report could not be queued: the job queue was unavailable');
      throw new ReportQueueUnavailableError();
    }
    return { jobId: report.id, status: 'queued' };
  }

  /**
   * Queues again the reports whose job Redis lost, and fails those that waited an hour or whose
   * job ended without the report recording it (ADR 0057). Run by workers every JOB_SWEEP_INTERVAL_MS.
   */
  async recoverLostJobs(now = new Date()): Promise<LostJobsOutcome> {
    const rows = await this.repository.findUnfinishedReports({
      createdBefore: new Date(now.getTime() - LOST_JOB_GRACE_MS),
      limit: LOST_JOB_SWEEP_LIMIT,
    });
    const outcome = await recoverLostJobs({
      queue: this.queue,
      rows,
      now,
      giveUpAfterMs: REPORT_GIVE_UP_AFTER_MS,
      requeue: async (row) => {
        await this.queue.add(FINANCIAL_REPORT_JOB, { reportId: row.id }, { ...FINANCIAL_REPORT_JOB_OPTIONS, jobId: row.id });
      },
      fail: async (row, reason) => {
        await this.repository.failReport(
          row.id,
          reason === 'expired'
            ? 'The report was not computed within an hour; request it again'
            : 'The report job ended without recording a result; request it again',
        );
      },
    });
    if (outcome.requeued.length > 0) this.logger.warn({ reportIds: outcome.requeued }, 'report jobs lost in Redis; queued again');
    if (outcome.failed.length > 0) this.logger.warn({ reportIds: outcome.failed }, 'unfinished reports given up');
    return outcome;
  }

  /** The requester and admins see a report; anyone else learns nothing about it. */
  async getFinancialReport(caller: Caller, reportId: string): Promise<FinancialReportDto> {
    const report = await this.repository.findReport(reportId);
    if (!report || (report.requestedBy !== caller.userId && !caller.isAdmin)) throw new ReportNotFoundError();
    return toFinancialReportDto(report);
  }

  /** The worker's step: claim, read the figures from one snapshot, store the result. */
  async runFinancialReport(reportId: string): Promise<ReportRunOutcome> {
    const claimed = await this.repository.claimReport(reportId);
    if (!claimed) return 'skipped';
    const period = storedPeriod(claimed);
    const snapshot = await this.repository.readFinancialFigures(period ? periodSegments(period) : null);
    const completed = await this.repository.completeReport(reportId, toFinancialReportResultDto(snapshot, period));
    return completed ? 'completed' : 'skipped';
  }

  /**
   * Records why a report failed. Domain errors carry a message written for clients; anything
   * else (a driver or SQL error) stays in the logs and the client gets a plain sentence.
   */
  async failFinancialReport(reportId: string, error: unknown): Promise<void> {
    const message =
      error instanceof DomainError ? error.message : 'The report could not be computed; the service logs name the cause';
    await this.repository.failReport(reportId, message);
  }

  async authorRoyalties(
    caller: Caller,
    walletId: string,
    input: { from?: string; to?: string },
  ): Promise<AuthorRoyaltiesDto> {
    const period = parsePeriod(input, { required: false });
    // Owner or admin, else 404: the same rule as reading the wallet itself.
    await this.wallets.getWallet(caller, walletId);
    const figures = await this.repository.readAuthorFigures(walletId, period ? periodSegments(period) : null);
    if (!figures) throw new ReportNotFoundError();
    return toAuthorRoyaltiesDto(walletId, period, figures);
  }

  async topAuthors(caller: Caller, input: { from?: string; to?: string; limit?: string; itemId?: string }): Promise<TopAuthorsDto> {
    if (!caller.isAdmin) throw new ForbiddenError();
    // A period is required: an all-time ranking would read every author-hour ever recorded.
    const period = parsePeriod(input, { required: true });
    const limit = input.limit === undefined ? TOP_AUTHORS_LIMIT_DEFAULT : Number(input.limit);
    const rows = await this.repository.topAuthors(periodSegments(period), limit, input.itemId);
    return { from: period.from.toISOString(), to: period.to.toISOString(), items: rows.map(toAuthorRankingDto) };
  }
}

/** The period as stored; a row edited into an impossible period fails rather than guessing. */
function storedPeriod({ periodFrom, periodTo }: { periodFrom: Date | null; periodTo: Date | null }): Period | null {
  if (periodFrom === null && periodTo === null) return null;
  if (periodFrom === null || periodTo === null) throw new ReportPeriodInvalidError('only one of from and to is set');
  try {
    return checkPeriod({ from: periodFrom, to: periodTo });
  } catch (error) {
    if (error instanceof RequestValidationError) {
      throw new ReportPeriodInvalidError((error.extra.errors ?? []).map((e) => e.message).join('; '));
    }
    throw error;
  }
}
