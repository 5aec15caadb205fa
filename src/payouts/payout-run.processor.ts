import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { BeforeApplicationShutdown, Logger } from '@nestjs/common';
import { Job } from 'bullmq';
import { AppConfig } from '../config/app-config';
import { closeWorkerWithin, JobsInFlight, WorkerErrorLog } from '../queue/worker-shutdown';
import { PayoutRunDto } from './dto/payout-run.dto';
import { PAYOUT_RUN_QUEUE, PAYOUT_RUN_WORKER_OPTIONS, payoutPeriodStartMs, slotOfJobId } from './payout-schedule';
import { PayoutsService } from './payouts.service';

/**
 * Runs the scheduled payout run of each PAYOUT_RUN_EVERY period (ADR 0018). A provider only in
 * worker roles with the variable set. Whichever worker takes the period's job, or takes it again
 * after a crash, runs the same payout run: its key is the period's start.
 */
@Processor(PAYOUT_RUN_QUEUE, PAYOUT_RUN_WORKER_OPTIONS)
export class PayoutRunProcessor extends WorkerHost implements BeforeApplicationShutdown {
  private readonly logger = new Logger(PayoutRunProcessor.name);
  private readonly jobs = new JobsInFlight();
  private readonly errors = new WorkerErrorLog(PAYOUT_RUN_QUEUE, this.logger);

  constructor(
    private readonly payouts: PayoutsService,
    private readonly config: AppConfig,
  ) {
    super();
  }

  process(job: Job): Promise<PayoutRunDto | { skipped: true }> {
    return this.jobs.track(() => this.run(job));
  }

  @OnWorkerEvent('error')
  onError(error: Error): void {
    this.errors.report(error);
  }

  /**
   * Before @nestjs/bullmq's own close, which would wait without bound (see closeWorkerWithin). The
   * running chunk gets half of SHUTDOWN_TIMEOUT_MS, leaving the rest for the connections; a run
   * cut off is resumed by the job's next attempt under the same key.
   */
  beforeApplicationShutdown(): Promise<void> {
    const drainTimeoutMs = Math.floor(this.config.http.shutdownTimeoutMs / 2);
    return closeWorkerWithin(this.worker, this.jobs, { drainTimeoutMs, logger: this.logger });
  }

  private async run(job: Job): Promise<PayoutRunDto | { skipped: true }> {
    const everyMs = this.config.payoutRunEveryMs;
    // A job left from a schedule that has since been turned off.
    if (everyMs === undefined) return { skipped: true };
    const slotMs = slotOfJobId(job.id) ?? job.timestamp;
    const periodStartMs = payoutPeriodStartMs(slotMs, everyMs);
    const { body, replayed } = await this.payouts.runScheduled(periodStartMs);
    this.logger.log(
      { runId: body.id, periodStart: new Date(periodStartMs).toISOString(), payouts: body.payoutCount, replayed },
      'scheduled payout run done',
    );
    return body;
  }
}
