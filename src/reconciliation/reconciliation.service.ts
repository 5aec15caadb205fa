import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
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
  MANUAL_RUN_JOB,
  MANUAL_RUN_JOB_OPTIONS,
  RECONCILIATION_QUEUE,
  RECONCILIATION_SCHEDULER_ID,
  ReconciliationJobData,
  SCHEDULED_RUN_JOB,
  SCHEDULED_RUN_JOB_OPTIONS,
} from './reconciliation.queue';
import { AuthorBucketDrift, ReconciliationRepository, TotalsFigures, WindowRepair } from './reconciliation.repository';
import { CheckedCounts, Drift, Figures, ReconciliationCheck, RunOutcome } from './reconciliation.types';
import { withTimeout } from '../common/async/with-timeout';

/** Stored drift details per run; the counts stay exact beyond it. */
export const DRIFT_DETAILS_MAX = 500;
/** Rollups are checked one window of whole hours at a time (one short statement each). */
const ROLLUP_WINDOW_MS = 24 * 3_600_000;
const WALLET_CHUNK_SIZE = 5_000;
/** Wallets locked and rewritten per statement when RECONCILE_FIX_BALANCES is on. */
const WALLET_FIX_BATCH_SIZE = 500;
const PURCHASE_CHUNK_SIZE = 10_000;
/** Ledger entry ids per statement of the double-entry check (exported: tests put entries on an edge). */
export const ENTRY_RANGE_SIZE = 200_000;
/** Drifted rows read back per statement; more are counted but not detailed. */
const DETAIL_ROWS_PER_STATEMENT = 1_000;
/** Transactions remembered as already reported (one may straddle two entry ranges). */
const REPORTED_TRANSACTIONS_MAX = 10_000;

export type RunResult = { outcome: 'completed'; runId: string; driftCount: number } | { outcome: 'skipped' };

/** Collects drifts with a bounded memory footprint: details up to a cap, counts always. */
class DriftLog {
  readonly details: Drift[] = [];
  readonly byCheck: Partial<Record<ReconciliationCheck, number>> = {};
  count = 0;
  corrected = 0;

  add(drift: Drift): void {
    this.addCounted(drift, 1, drift.corrected ? 1 : 0);
  }

  /** Records `count` drifts of one kind of which `details` were read back. */
  addCounted(drift: Drift | undefined, count: number, corrected: number, check?: ReconciliationCheck): void {
    const name = drift?.check ?? check!;
    this.count += count;
    this.corrected += corrected;
    this.byCheck[name] = (this.byCheck[name] ?? 0) + count;
    if (drift && this.details.length < DRIFT_DETAILS_MAX) this.details.push(drift);
  }
}

const totalsFigures = (totals: TotalsFigures): Figures => ({ ...totals });

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
  ) {}

  /** Registers the repeatable run; every worker calls it, BullMQ keeps one scheduler per id. */
  async ensureSchedule(): Promise<void> {
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
    const locked = await this.repository.withRunLock(async () => {
      await this.failAbandonedRuns();
      const run = await this.repository.createScheduledRun({ fixBalances: this.config.reconciliation.fixBalances });
      return this.execute(run.id, run.fixBalances);
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
      return this.execute(run.id, run.fixBalances);
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

  private async execute(runId: string, fixBalances: boolean): Promise<RunResult> {
    const startedAt = process.hrtime.bigint();
    let outcome: RunOutcome;
    try {
      outcome = await this.reconcile({ fixBalances });
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

  /** Every check, in bounded steps. Exposed for benchmarks; runs normally go through the queue. */
  async reconcile(options: { fixBalances: boolean }): Promise<RunOutcome> {
    const log = new DriftLog();
    const checked: CheckedCounts = {};
    await this.checkRunningTotals(log, checked);
    await this.checkRollups(log, checked);
    await this.checkWallets(log, checked, options.fixBalances);
    await this.checkDoubleEntry(log, checked);
    await this.checkPurchaseLegs(log, checked);
    return {
      checked,
      drifts: log.details,
      driftCount: log.count,
      correctedCount: log.corrected,
      driftsByCheck: log.byCheck,
    };
  }

  private async checkRunningTotals(log: DriftLog, checked: CheckedCounts): Promise<void> {
    const totals = await this.repository.repairRunningTotals();
    checked.runningTotals = 1;
    if (totals.repairedRows > 0 || JSON.stringify(totals.kept) !== JSON.stringify(totals.ledger)) {
      log.add({
        check: 'running_totals',
        key: {},
        before: totalsFigures(totals.kept),
        expected: totalsFigures(totals.ledger),
        corrected: totals.repairedRows > 0,
      });
    }
  }

  private async checkRollups(log: DriftLog, checked: CheckedCounts): Promise<void> {
    checked.hourlyBuckets = 0;
    checked.authorHourlyBuckets = 0;
    checked.authorDailyBuckets = 0;
    checked.rollupWindows = 0;
    let cursor: Date | undefined;
    for (;;) {
      // One UTC day per window, so that the daily author rows compare against whole days.
      const from = await this.repository.nextActiveDay(cursor);
      if (!from) break;
      const window = { from, to: new Date(from.getTime() + ROLLUP_WINDOW_MS) };
      checked.rollupWindows++;

      const hourly = await this.repository.repairHourlyRollups(window, DETAIL_ROWS_PER_STATEMENT);
      checked.hourlyBuckets += hourly.groupsChecked;
      const hourlyCorrected = hourly.repairedRows === hourly.driftCount;
      for (const drift of hourly.drifts) {
        log.add({
          check: 'hourly_rollups',
          key: { bucketStart: drift.bucketStart.toISOString() },
          before: totalsFigures(drift.kept),
          expected: totalsFigures(drift.ledger),
          corrected: hourlyCorrected,
        });
      }
      const hourlyUndetailed = hourly.driftCount - hourly.drifts.length;
      if (hourlyUndetailed > 0) {
        log.addCounted(undefined, hourlyUndetailed, hourlyCorrected ? hourlyUndetailed : 0, 'hourly_rollups');
      }

      // Hours first: their repairs reach the daily rows through the trigger, so the daily check
      // only finds what was written to the daily table directly.
      const authorHours = await this.repository.repairAuthorRollups('hour', window, DETAIL_ROWS_PER_STATEMENT);
      checked.authorHourlyBuckets += authorHours.groupsChecked;
      logAuthorRepair(log, 'author_hourly_rollups', authorHours);
      const authorDays = await this.repository.repairAuthorRollups('day', window, DETAIL_ROWS_PER_STATEMENT);
      checked.authorDailyBuckets += authorDays.groupsChecked;
      logAuthorRepair(log, 'author_daily_rollups', authorDays);
      cursor = window.to;
    }
  }

  private async checkWallets(log: DriftLog, checked: CheckedCounts, fixBalances: boolean): Promise<void> {
    checked.wallets = 0;
    let after: string | undefined;
    for (;;) {
      const chunk = await this.repository.compareWalletChunk({
        after,
        walletLimit: WALLET_CHUNK_SIZE,
        detailLimit: DETAIL_ROWS_PER_STATEMENT,
      });
      checked.wallets += chunk.walletsChecked;
      const fixes =
        fixBalances && chunk.lastWalletId && chunk.balanceDriftCount + chunk.carryDriftCount > 0
          ? await this.fixWallets(after, chunk.lastWalletId)
          : { balances: new Set<string>(), carries: new Set<string>() };
      const detailed = { orphans: 0, balances: 0, carries: 0, balancesFixed: 0, carriesFixed: 0 };
      for (const wallet of chunk.drifts) {
        if (wallet.orphan) {
          detailed.orphans++;
          log.add({
            check: 'orphan_entries',
            key: { walletId: wallet.walletId },
            before: { entries: wallet.orphanEntries, amount: wallet.ledgerBalance },
            expected: { entries: 0, amount: 0 },
            corrected: false,
          });
          continue;
        }
        if (wallet.keptBalance !== wallet.ledgerBalance) {
          const corrected = fixes.balances.has(wallet.walletId);
          detailed.balances++;
          if (corrected) detailed.balancesFixed++;
          log.add({
            check: 'wallet_balances',
            key: { walletId: wallet.walletId },
            before: { balance: wallet.keptBalance ?? 0 },
            expected: { balance: wallet.ledgerBalance },
            corrected,
          });
        }
        if (wallet.keptCarry !== wallet.ledgerCarry) {
          const corrected = fixes.carries.has(wallet.walletId);
          detailed.carries++;
          if (corrected) detailed.carriesFixed++;
          log.add({
            check: 'wallet_carries',
            key: { walletId: wallet.walletId },
            before: { fractionalBalance: wallet.keptCarry ?? 0 },
            expected: { fractionalBalance: wallet.ledgerCarry },
            corrected,
          });
        }
      }
      // Drifts beyond the detailed ones are counted, and so are their fixes.
      const undetailed = (check: ReconciliationCheck, count: number, fixed: number): void => {
        if (count > 0) log.addCounted(undefined, count, Math.min(count, Math.max(0, fixed)), check);
      };
      undetailed('orphan_entries', chunk.orphanCount - detailed.orphans, 0);
      undetailed('wallet_balances', chunk.balanceDriftCount - detailed.balances, fixes.balances.size - detailed.balancesFixed);
      undetailed('wallet_carries', chunk.carryDriftCount - detailed.carries, fixes.carries.size - detailed.carriesFixed);
      if (chunk.walletsChecked < WALLET_CHUNK_SIZE || !chunk.lastWalletId) break;
      after = chunk.lastWalletId;
    }
  }

  /** Rewrites every drifted balance and carry of the wallets in (after, upTo], a batch at a time. */
  private async fixWallets(after: string | undefined, upTo: string): Promise<{ balances: Set<string>; carries: Set<string> }> {
    // At most WALLET_CHUNK_SIZE ids each: the range is one chunk.
    const balances = new Set<string>();
    const carries = new Set<string>();
    let cursor = after;
    for (;;) {
      const batch = await this.repository.fixWalletBatch({ after: cursor, upTo, walletLimit: WALLET_FIX_BATCH_SIZE });
      for (const wallet of batch.fixed) {
        if (wallet.balance) balances.add(wallet.walletId);
        if (wallet.carry) carries.add(wallet.walletId);
      }
      if (batch.walletsExamined < WALLET_FIX_BATCH_SIZE || !batch.lastWalletId) break;
      cursor = batch.lastWalletId;
    }
    return { balances, carries };
  }

  /**
   * The ledger sum and each transaction's balance, read in one snapshot (ADR 0025): with each
   * range in its own transaction, one whose entries straddle a range edge and commits between
   * the two reads would add half its entries to the sum, a false alarm. Ranges stop at the
   * largest id the snapshot sees.
   */
  private async checkDoubleEntry(log: DriftLog, checked: CheckedCounts): Promise<void> {
    const { sumCents, entries } = await this.repository.withLedgerSnapshot(async (snapshot) => {
      const bounds = await this.repository.entryIdBounds(snapshot);
      let sum = 0n;
      let count = 0;
      const reported = new Set<string>();
      if (!bounds) return { sumCents: sum, entries: count };
      for (let fromId = bounds.min; fromId <= bounds.max; fromId += ENTRY_RANGE_SIZE) {
        const range = await this.repository.checkEntryRange({
          snapshot,
          fromId,
          toId: Math.min(fromId + ENTRY_RANGE_SIZE, bounds.max + 1),
          candidateLimit: DETAIL_ROWS_PER_STATEMENT,
        });
        count += range.entries;
        sum += range.sumCents;
        // A transaction straddling the range edge looks unbalanced here; all its entries decide.
        const candidates = range.candidates.filter((id) => !reported.has(id));
        const unbalanced = await this.repository.unbalancedTransactions(snapshot, candidates);
        for (const transaction of unbalanced) {
          if (reported.size < REPORTED_TRANSACTIONS_MAX) reported.add(transaction.transactionId);
          log.add({
            check: 'transaction_balance',
            key: { transactionId: transaction.transactionId },
            before: { sum: transaction.sumCents },
            expected: { sum: 0 },
            corrected: false,
          });
        }
      }
      return { sumCents: sum, entries: count };
    });
    checked.ledgerEntries = entries;
    if (sumCents !== 0n) {
      log.add({ check: 'ledger_sum', key: {}, before: { sum: Number(sumCents) }, expected: { sum: 0 }, corrected: false });
    }
  }

  private async checkPurchaseLegs(log: DriftLog, checked: CheckedCounts): Promise<void> {
    checked.purchases = 0;
    const platformWalletId = await this.repository.platformWalletId(this.config.platformAccountId);
    let after: string | undefined;
    for (;;) {
      const chunk = await this.repository.comparePurchaseChunk({
        after,
        purchaseLimit: PURCHASE_CHUNK_SIZE,
        detailLimit: DETAIL_ROWS_PER_STATEMENT,
        platformWalletId,
      });
      checked.purchases += chunk.purchasesChecked;
      for (const purchase of chunk.drifts) {
        log.add({
          check: 'purchase_legs',
          key: { purchaseId: purchase.purchaseId },
          before: { ...purchase.posted },
          expected: { ...purchase.expected },
          corrected: false,
        });
      }
      const undetailed = chunk.driftCount - chunk.drifts.length;
      if (undetailed > 0) log.addCounted(undefined, undetailed, 0, 'purchase_legs');
      if (chunk.purchasesChecked < PURCHASE_CHUNK_SIZE || !chunk.lastPurchaseId) break;
      after = chunk.lastPurchaseId;
    }
  }
}

function logAuthorRepair(
  log: DriftLog,
  check: 'author_hourly_rollups' | 'author_daily_rollups',
  repair: WindowRepair<AuthorBucketDrift>,
): void {
  const corrected = repair.repairedRows === repair.driftCount;
  for (const drift of repair.drifts) {
    log.add({
      check,
      key: { authorWalletId: drift.authorWalletId, bucketStart: drift.bucketStart.toISOString() },
      before: { ...drift.kept },
      expected: { ...drift.ledger },
      corrected,
    });
  }
  const undetailed = repair.driftCount - repair.drifts.length;
  if (undetailed > 0) log.addCounted(undefined, undetailed, corrected ? undetailed : 0, check);
}
