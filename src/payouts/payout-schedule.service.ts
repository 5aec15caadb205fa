import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import { AppConfig } from '../config/app-config';
import { everyInterval } from '../queue/lost-jobs';
import { listenToQueueErrors } from '../queue/queue.module';
import {
  nextPayoutPeriodStartMs,
  PAYOUT_RUN_QUEUE,
  PAYOUT_RUN_SCHEDULER_ID,
  SCHEDULED_PAYOUT_RUN_JOB,
  SCHEDULED_PAYOUT_RUN_JOB_OPTIONS,
} from './payout-schedule';

/** A next job overdue by more than this and absent from Redis counts as lost (as for reconciliation, ADR 0057). */
const LOST_SLOT_GRACE_MS = 10_000;
/** A new schedule starts at the first period start at least this far ahead (half a period at most). */
const REGISTER_MARGIN_MS = 5_000;

/**
 * Keeps the PAYOUT_RUN_EVERY schedule in Redis, in worker roles: registers it at start, registers
 * it again when Redis lost it or lost its next job (ADR 0057), every JOB_SWEEP_INTERVAL_MS, and
 * removes it when the variable is unset. Every worker does this; BullMQ keeps one scheduler per
 * id, and its job ids (scheduler and slot) make the workers agree on one job per period.
 */
@Injectable()
export class PayoutScheduleService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(PayoutScheduleService.name);
  private stop: (() => void) | undefined;

  constructor(
    private readonly config: AppConfig,
    @InjectQueue(PAYOUT_RUN_QUEUE) private readonly queue: Queue,
  ) {
    listenToQueueErrors(queue, this.logger);
  }

  /** In the background: a process must start (and serve money requests) while Redis is down. */
  onApplicationBootstrap(): void {
    const check = async () => {
      await this.keepSchedule();
    };
    void check().catch((error: unknown) => this.skipped(error));
    this.stop = everyInterval(this.config.jobSweepIntervalMs, check, (error) => this.skipped(error));
  }

  onApplicationShutdown(): void {
    this.stop?.();
  }

  /** Registers, restores or removes the schedule so that Redis matches PAYOUT_RUN_EVERY. */
  async keepSchedule(now = Date.now()): Promise<'registered' | 'restored' | 'removed' | 'unchanged'> {
    const everyMs = this.config.payoutRunEveryMs;
    const scheduler = await this.queue.getJobScheduler(PAYOUT_RUN_SCHEDULER_ID);
    if (everyMs === undefined) {
      if (!scheduler) return 'unchanged';
      await this.queue.removeJobScheduler(PAYOUT_RUN_SCHEDULER_ID);
      this.logger.log('PAYOUT_RUN_EVERY is unset; payout run schedule removed');
      return 'removed';
    }
    if (!scheduler || Number(scheduler.every) !== everyMs) {
      await this.register(everyMs);
      return 'registered';
    }
    // A failover may lose the delayed job and keep the scheduler; BullMQ adds the next job only
    // when the current one starts, so the schedule would stop for good.
    if (!scheduler.next || scheduler.next > now - LOST_SLOT_GRACE_MS) return 'unchanged';
    if (await this.queue.getJob(`repeat:${PAYOUT_RUN_SCHEDULER_ID}:${scheduler.next}`)) return 'unchanged';
    await this.register(everyMs);
    this.logger.warn('the next scheduled payout run job was missing from Redis; schedule registered again');
    return 'restored';
  }

  /**
   * The first run comes at a period start, aligned to the Unix epoch (startDate only applies to
   * a new scheduler: an existing one keeps its rhythm). BullMQ starts a schedule whose startDate
   * has passed at the instant it gets the call, off the period grid for good, so the start is
   * taken with a margin; should it still land off the grid, each job's run key is floored to
   * its period's start anyway.
   */
  private async register(everyMs: number): Promise<void> {
    const marginMs = Math.min(everyMs / 2, REGISTER_MARGIN_MS);
    await this.queue.upsertJobScheduler(
      PAYOUT_RUN_SCHEDULER_ID,
      { every: everyMs, startDate: nextPayoutPeriodStartMs(Date.now() + marginMs, everyMs) },
      { name: SCHEDULED_PAYOUT_RUN_JOB, data: {}, opts: SCHEDULED_PAYOUT_RUN_JOB_OPTIONS },
    );
  }

  private skipped(error: unknown): void {
    this.logger.debug({ err: error instanceof Error ? error.message : String(error) }, 'payout schedule check skipped');
  }
}
