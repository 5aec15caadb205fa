import { OnWorkerEvent, Processor, WorkerHost } from '@nestjs/bullmq';
import { BeforeApplicationShutdown, Logger, OnModuleInit } from '@nestjs/common';
import { Job } from 'bullmq';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { closeWorkerWithin, JobsInFlight, WorkerErrorLog, workerDrainTimeoutMs } from '../queue/worker-shutdown';
import { AttemptOutcome, WebhookDeliveryService } from './webhook-delivery.service';
import { DeliverJobData, WEBHOOK_WORKER_OPTIONS, WEBHOOKS_QUEUE } from './webhooks.queue';

/** Runs delivery attempts; the job only wakes the attempt, the outcome is recorded in PostgreSQL. */
@Processor(WEBHOOKS_QUEUE, WEBHOOK_WORKER_OPTIONS)
export class WebhookDeliveryProcessor extends WorkerHost implements OnModuleInit, BeforeApplicationShutdown {
  private readonly logger = new Logger(WebhookDeliveryProcessor.name);
  private readonly jobs = new JobsInFlight();
  private readonly errors = new WorkerErrorLog(WEBHOOKS_QUEUE, this.logger);

  constructor(
    private readonly deliveries: WebhookDeliveryService,
    private readonly metrics: MetricsService,
    private readonly config: AppConfig,
  ) {
    super();
  }

  /** Attempts in flight per process: WEBHOOK_CONCURRENCY (the decorator's options are static). */
  onModuleInit(): void {
    this.worker.concurrency = this.config.webhooks.concurrency;
  }

  process(job: Job<DeliverJobData>): Promise<AttemptOutcome> {
    return this.jobs.track(() => this.deliveries.attempt(job.data));
  }

  @OnWorkerEvent('error')
  onError(error: Error): void {
    this.errors.report(error);
  }

  /** Before @nestjs/bullmq's own close, which would wait without bound (see closeWorkerWithin). */
  beforeApplicationShutdown(): Promise<void> {
    // Attempts parked behind a busy endpoint would keep their slot's job running past the drain.
    this.deliveries.closeParking();
    return closeWorkerWithin(this.worker, this.jobs, { drainTimeoutMs: workerDrainTimeoutMs(this.config.http.shutdownTimeoutMs), logger: this.logger });
  }

  @OnWorkerEvent('completed')
  onCompleted(job: Job<DeliverJobData>): void {
    this.metrics.queueJobs.inc({ queue: WEBHOOKS_QUEUE, job: job.name, outcome: 'completed' });
  }

  @OnWorkerEvent('failed')
  onFailed(job: Job<DeliverJobData> | undefined, error: Error): void {
    // A failed job is a database or Redis error around the attempt; the sweeper retries it.
    this.logger.warn({ err: error, deliveryId: job?.data.deliveryId }, 'webhook delivery job failed');
    this.metrics.queueJobs.inc({ queue: WEBHOOKS_QUEUE, job: job?.name ?? 'unknown', outcome: 'failed' });
  }
}
