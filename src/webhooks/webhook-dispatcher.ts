import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Queue } from 'bullmq';
import { AppConfig } from '../config/app-config';
import { WebhookMetrics } from './webhook-metrics';
import {
  DELIVER_JOB,
  DELIVER_JOB_OPTIONS,
  DeliverJobData,
  deliverJobId,
  DISPATCH_BATCH_MAX,
  overdueGraceMs,
  SWEEP_BATCH_MAX,
  sweepJobId,
  sweepRound,
  WEBHOOKS_QUEUE,
} from './webhooks.queue';
import { WebhooksRepository } from './webhooks.repository';

/**
 * Follows the event feed in the worker roles (ADR 0032): every WEBHOOK_DISPATCH_INTERVAL_MS it
 * turns newly committed events into deliveries (webhook_dispatch, one dispatcher at a time
 * across processes) and queues them; every few seconds it re-queues deliveries whose job was
 * lost. Both are idempotent, so a crash anywhere loses nothing and at worst repeats an attempt.
 */
@Injectable()
export class WebhookDispatcher implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WebhookDispatcher.name);
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private running: Promise<void> | undefined;
  private lastSweepAt = 0;

  constructor(
    private readonly repository: WebhooksRepository,
    private readonly metrics: WebhookMetrics,
    private readonly config: AppConfig,
    @InjectQueue(WEBHOOKS_QUEUE) private readonly queue: Queue<DeliverJobData>,
  ) {}

  onApplicationBootstrap(): void {
    this.schedule(0);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.tick()
        .then((more) => this.schedule(more ? 0 : this.config.webhooks.dispatchIntervalMs))
        .catch((error: unknown) => {
          this.logger.warn({ err: error }, 'webhook dispatch step failed; retrying');
          this.schedule(Math.max(1_000, this.config.webhooks.dispatchIntervalMs));
        });
    }, delayMs);
    this.timer.unref();
  }

  /** One step; true when the feed had more events than one step reads. */
  async tick(): Promise<boolean> {
    const { events, deliveries } = await this.repository.dispatch(DISPATCH_BATCH_MAX);
    for (const event of events) this.metrics.eventsWritten.inc({ type: event.type });
    if (deliveries.length > 0) {
      await this.queue.addBulk(
        deliveries.map(({ deliveryId, endpointId }) => ({
          name: DELIVER_JOB,
          data: { deliveryId, endpointId },
          opts: { ...DELIVER_JOB_OPTIONS, jobId: deliverJobId(deliveryId, 0) },
        })),
      );
    }
    if (Date.now() - this.lastSweepAt >= this.config.webhooks.sweepIntervalMs) {
      this.lastSweepAt = Date.now();
      await this.sweep();
    }
    return events.length >= DISPATCH_BATCH_MAX;
  }

  /**
   * Re-queues overdue deliveries under the sweep's own job id (see sweepJobId): a sweep job that
   * still waits is not duplicated within a round, and a job stranded by a dead worker does not
   * block the delivery for longer than a round.
   */
  async sweep(nowMs = Date.now()): Promise<number> {
    const { sweepIntervalMs } = this.config.webhooks;
    const overdue = await this.repository.overdueDeliveries(overdueGraceMs(sweepIntervalMs), SWEEP_BATCH_MAX);
    if (overdue.length === 0) return 0;
    const round = sweepRound(nowMs, sweepIntervalMs);
    await this.queue.addBulk(
      overdue.map(({ deliveryId, endpointId, attemptCount }) => ({
        name: DELIVER_JOB,
        data: { deliveryId, endpointId },
        opts: { ...DELIVER_JOB_OPTIONS, jobId: sweepJobId(deliveryId, attemptCount, round) },
      })),
    );
    this.logger.log({ count: overdue.length }, 'overdue webhook deliveries queued again');
    return overdue.length;
  }
}
