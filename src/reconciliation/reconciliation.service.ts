import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import { listenToQueueErrors } from '../queue/queue.module';
import { Queue } from 'bullmq';
import { Caller } from '../common/auth/caller';
import { ForbiddenError } from '../common/errors/domain-errors';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { ReconciliationQueuedDto, ReconciliationRunDto, toReconciliationRunDto } from './dto/reconciliation-run.dto';
import {
  ReconciliationBusyError,
  ReconciliationQueueUnavailableError,
  ReconciliationRunNotFoundError,
} from './reconciliation.errors';
import {
  ENQUEUE_TIMEOUT_MS,
  LOST_JOB_GRACE_MS,
  LOST_JOB_SWEEP_LIMIT,
  MANUAL_RUN_JOB,
  MANUAL_RUN_JOB_OPTIONS,
  RECONCILIATION_QUEUE,
  RECONCILIATION_SCHEDULER_ID,
  QUEUED_RUN_GIVE_UP_AFTER_MS,
  ReconciliationJobData,
  SCHEDULED_RUN_JOB,
  SCHEDULED_RUN_JOB_OPTIONS,
} from './reconciliation.queue';
import { RECONCILIATION_CHECKS } from './reconciliation.checks';
import { ReconciliationRepository } from './reconciliation.repository';
import { IncrementalReconciliationRepository } from './reconciliation-incremental.repository';
import { planFull, planIncremental, RunScope } from './reconciliation-incremental';
import { runChecks } from './reconciliation.runner';
import { RunOutcome } from './reconciliation.types';
import { withTimeout } from '../common/async/with-timeout';
import { LostJobsOutcome, recoverLostJobs } from '../queue/lost-jobs';

/** Months of ledger partitions kept ready beyond the current one (ADR 0027). */
export const LEDGER_MONTHS_AHEAD = 3;

export type RunResult = { outcome: 'completed'; runId: string; driftCount: number } | { outcome: 'skipped' };

/**
 * Recomputes every derived figure from the ledger and compares. Derived aggregates (running
 * totals, rollups) are corrected in place; wallet balances and carries are only reported unless
 * RECONCILE_FIX_BALANCES is set (ADR 0025). One run at a time across all instances.
 */
@Injectable()
export class ReconciliationService {
  private readonly logger = new Logger(ReconciliationService.name);
  /** Whether this process has registered the schedule before (a later absence is worth a warning). */
  private scheduleRegistered = false;

  constructor(
    private readonly repository: ReconciliationRepository,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    @InjectQueue(RECONCILIATION_QUEUE) private readonly queue: Queue<ReconciliationJobData>,
    private readonly incremental: IncrementalReconciliationRepository,
  ) {
    listenToQueueErrors(queue, this.logger);
  }

  /** Registers the repeatable run; every worker calls it, BullMQ keeps one scheduler per id. */
  async ensureSchedule(): Promise<void> {
    await this.ensureLedgerPartitions();
    const everyMs = this.config.reconciliation.everyMs;
    // startDate only applies when the scheduler is new: the first run comes one interval after
    // the first deployment, and restarts keep the existing rhythm.
    await this.queue.upsertJobScheduler(
      RECONCILIATION_SCHEDULER_ID,
      { every: everyMs, startDate: Date.now() + everyMs },
      { name: SCHEDULED_RUN_JOB, data: {}, opts: SCHEDULED_RUN_JOB_OPTIONS },
    );
  }

  /**
   * Re-registers the schedule if Redis lost it (a restart with no persistence). Checked first
   * so that an existing schedule keeps its rhythm: upserting would move its next run.
   */
  async restoreScheduleIfLost(): Promise<void> {
    if (await this.queue.getJobScheduler(RECONCILIATION_SCHEDULER_ID)) return;
    await this.ensureSchedule();
    if (this.scheduleRegistered) this.logger.warn('reconciliation schedule was missing from Redis; registered it again');
    this.scheduleRegistered = true;
  }

  /**
   * Queues again the manual runs whose job Redis lost, and fails those queued for an hour or
   * whose job ended without starting them (ADR 0057). Run by workers every JOB_SWEEP_INTERVAL_MS.
   */
  async recoverLostJobs(now = new Date()): Promise<LostJobsOutcome> {
    const rows = await this.repository.findQueuedManualRuns({
      createdBefore: new Date(now.getTime() - LOST_JOB_GRACE_MS),
      limit: LOST_JOB_SWEEP_LIMIT,
    });
    const outcome = await recoverLostJobs({
      queue: this.queue,
      rows,
      now,
      giveUpAfterMs: QUEUED_RUN_GIVE_UP_AFTER_MS,
      requeue: async (row) => {
        await this.queue.add(MANUAL_RUN_JOB, { runId: row.id }, { ...MANUAL_RUN_JOB_OPTIONS, jobId: row.id });
      },
      fail: async (row, reason) => {
        await this.repository.failQueuedRun(
          row.id,
          reason === 'expired'
            ? 'The run was not started within an hour; request another'
            : 'The run job ended without starting the run; request another',
        );
      },
    });
    if (outcome.requeued.length > 0) this.logger.warn({ runIds: outcome.requeued }, 'reconciliation jobs lost in Redis; queued again');
    if (outcome.failed.length > 0) this.logger.warn({ runIds: outcome.failed }, 'queued reconciliation runs given up');
    return outcome;
  }

  /**
   * Registers the schedule again when its next job is overdue and gone from Redis: a failover
   * may lose the delayed job while keeping the scheduler, and BullMQ creates the next job only
   * when the current one starts, so the schedule would stop for good.
   */
  async restoreScheduleIfStalled(now = Date.now()): Promise<boolean> {
    const scheduler = await this.queue.getJobScheduler(RECONCILIATION_SCHEDULER_ID);
    if (!scheduler?.next || scheduler.next > now - LOST_JOB_GRACE_MS) return false;
    if (await this.queue.getJob(`repeat:${RECONCILIATION_SCHEDULER_ID}:${scheduler.next}`)) return false;
    await this.ensureSchedule();
    this.logger.warn('the next scheduled reconciliation job was missing from Redis; schedule registered again');
    return true;
  }

  /**
   * The ledger's months ahead (ADR 0027): every worker at start and every scheduled run make sure
   * they exist, so a month's partition is there long before its first posting. A failure (a lock
   * not granted in time) is retried by the next run; there are months of slack.
   */
  private async ensureLedgerPartitions(): Promise<void> {
    try {
      const created = await this.incremental.ensureLedgerPartitions(LEDGER_MONTHS_AHEAD);
      if (created > 0) this.logger.log({ created }, 'created ledger partitions ahead');
    } catch (error) {
      this.logger.warn({ err: error }, 'could not create the ledger partitions ahead; the next run tries again');
    }
  }

  /** Queues a manual run, or answers with the run already queued or running. */
  async requestRun(caller: Caller): Promise<ReconciliationQueuedDto> {
    if (!caller.isAdmin) throw new ForbiddenError();
    const { run, created } = await this.repository.createManualRun({
      requestedBy: caller.userId,
      fixBalances: this.config.reconciliation.fixBalances,
    });
    if (created) {
      try {
        await withTimeout(
          this.queue.add(MANUAL_RUN_JOB, { runId: run.id }, { ...MANUAL_RUN_JOB_OPTIONS, jobId: run.id }),
          ENQUEUE_TIMEOUT_MS,
        );
      } catch (error) {
        this.logger.error({ runId: run.id, err: error }, 'reconciliation run could not be queued');
        await this.repository.failRun(run.id, 'The run could not be queued: the job queue was unavailable');
        throw new ReconciliationQueueUnavailableError();
      }
    }
    return { runId: run.id, status: run.status === 'running' ? 'running' : 'queued' };
  }

  /** Admins only; anyone else learns nothing about the run, not even that it exists. */
  async getRun(caller: Caller, runId: string): Promise<ReconciliationRunDto> {
    if (!caller.isAdmin) throw new ReconciliationRunNotFoundError();
    const run = await this.repository.findRun(runId);
    if (!run) throw new ReconciliationRunNotFoundError();
    return toReconciliationRunDto(run);
  }

  /** The scheduled job: a run of its own, or nothing if another run is in progress. */
  async runScheduled(): Promise<RunResult> {
    await this.ensureLedgerPartitions();
    const locked = await this.repository.withRunLock(async () => {
      await this.failAbandonedRuns();
      const run = await this.repository.createScheduledRun({ fixBalances: this.config.reconciliation.fixBalances });
      if (!this.config.reconciliation.incremental) return this.execute(run.id, run.fixBalances, 'full');
      await this.incremental.markIncremental(run.id);
      return this.execute(run.id, run.fixBalances, 'incremental');
    });
    if (!locked.acquired) {
      this.metrics.reconciliationRuns.inc({ outcome: 'skipped' });
      this.logger.debug('scheduled reconciliation skipped: another run is in progress');
      return { outcome: 'skipped' };
    }
    return locked.value;
  }

  /** A queued manual run; throws ReconciliationBusyError (retried) while another run works. */
  async runQueued(runId: string): Promise<RunResult> {
    const locked = await this.repository.withRunLock(async (): Promise<RunResult> => {
      await this.failAbandonedRuns();
      const run = await this.repository.findRun(runId);
      if (!run || !(await this.repository.startQueuedRun(runId))) return { outcome: 'skipped' };
      // An administrator's run checks everything, as it always did.
      return this.execute(run.id, run.fixBalances, 'full');
    });
    if (!locked.acquired) throw new ReconciliationBusyError();
    return locked.value;
  }

  async failRun(runId: string, reason: string): Promise<void> {
    await this.repository.failRun(runId, reason);
  }

  private async failAbandonedRuns(): Promise<void> {
    // Called under the run lock: nothing else can be running now.
    const abandoned = await this.repository.failAbandonedRuns();
    if (abandoned > 0) this.logger.warn({ abandoned }, 'marked abandoned reconciliation runs as failed');
  }

  private async execute(runId: string, fixBalances: boolean, scope: RunScope['kind']): Promise<RunResult> {
    const startedAt = process.hrtime.bigint();
    let outcome: RunOutcome;
    try {
      outcome = await this.reconcile({ fixBalances, scope });
    } catch (error) {
      this.metrics.reconciliationRuns.inc({ outcome: 'failed' });
      this.logger.error({ runId, err: error }, 'reconciliation run failed');
      await this.repository.failRun(runId, 'The run failed; the service logs name the cause');
      throw error;
    }
    await this.repository.completeRun(runId, outcome);
    const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
    this.recordMetrics(outcome, seconds);
    if (outcome.driftCount > 0) {
      this.logger.error(
        { runId, driftCount: outcome.driftCount, correctedCount: outcome.correctedCount, byCheck: outcome.driftsByCheck },
        'reconciliation found drift',
      );
    } else {
      this.logger.debug({ runId, seconds, checked: outcome.checked }, 'reconciliation clean');
    }
    return { outcome: 'completed', runId, driftCount: outcome.driftCount };
  }

  private recordMetrics(outcome: RunOutcome, seconds: number): void {
    this.metrics.reconciliationRuns.inc({ outcome: outcome.driftCount > 0 ? 'drift' : 'clean' });
    for (const [check, count] of Object.entries(outcome.driftsByCheck)) {
      this.metrics.reconciliationDrifts.inc({ check }, count);
    }
    this.metrics.reconciliationLastRunDrifts.set(outcome.driftCount);
    this.metrics.reconciliationLastRunDuration.set(seconds);
    this.metrics.reconciliationLastCompleted.set(Date.now() / 1_000);
  }

  /**
   * Every check, in bounded steps, over everything (`full`, the default) or over what changed
   * since the last clean run plus the sweep's due slice (`incremental`, ADR 0028). The sweep's
   * progress is recorded when the checks are done, so a failed run leaves its slice for the next;
   * a full run completes the cycle in progress. Exposed for benchmarks; runs normally go through
   * the queue.
   */
  async reconcile(options: {
    fixBalances: boolean;
    scope?: RunScope['kind'];
    /** Tests and benchmarks only: the run's instant, and how far before the last clean run changes are read. */
    now?: Date;
    changeMarginMs?: number;
  }): Promise<RunOutcome> {
    const now = options.now ?? new Date();
    const context = {
      repository: this.repository,
      incremental: this.incremental,
      fixBalances: options.fixBalances,
      platformAccountId: this.config.platformAccountId,
    };
    if (options.scope !== 'incremental') {
      const outcome = await runChecks(RECONCILIATION_CHECKS, { ...context, scope: planFull(now, options.changeMarginMs) });
      await this.incremental.finishOpenCycles(now);
      return outcome;
    }
    const cycle = await this.incremental.openCycle({ now, periodMs: this.config.reconciliation.sweepPeriodMs });
    const scope = planIncremental({
      now,
      lastCleanStartedAt: await this.incremental.lastCleanRunStartedAt(),
      cycle,
      changeMarginMs: options.changeMarginMs,
    });
    const outcome = await runChecks(RECONCILIATION_CHECKS, { ...context, scope });
    await this.incremental.advanceCycle({
      id: cycle.id,
      sweptFraction: scope.slice.to,
      finishedAt: scope.slice.to >= 1 ? now : undefined,
    });
    return outcome;
  }
}
