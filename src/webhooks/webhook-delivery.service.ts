import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import { Queue } from 'bullmq';
import { AppConfig } from '../config/app-config';
import { WebhookMetrics } from './webhook-metrics';
import { retryDelayMs } from './webhook-backoff';
import { signatureHeader } from './webhook-secret';
import { sendWebhook } from './webhook-sender';
import {
  attemptLeaseMs,
  DELIVER_JOB,
  DELIVER_JOB_OPTIONS,
  DeliverJobData,
  deliverJobId,
  ENDPOINT_BUSY_DELAY_MS,
  PARKED_ATTEMPTS_MAX,
  WEBHOOKS_QUEUE,
} from './webhooks.queue';
import { WebhooksRepository } from './webhooks.repository';
import { WebhooksService } from './webhooks.service';

export type AttemptOutcome = 'delivered' | 'retrying' | 'failed' | 'skipped' | 'endpoint_busy';

const USER_AGENT = 'wallet-service-webhooks/1';

/**
 * One delivery attempt (ADR 0032): claim it in PostgreSQL, sign, POST, record, and schedule the
 * next attempt as a delayed job. Each endpoint has at most `perEndpointInFlight` attempts in
 * flight in this process, so a slow or dead receiver never takes every worker slot. An attempt
 * over that cap is parked in memory (ADR 0071) and runs when one of its endpoint's attempts
 * ends, in the slot that attempt held; the delivery's state stays in PostgreSQL, so a parked
 * attempt lost with the process is found again by the sweeper.
 */
@Injectable()
export class WebhookDeliveryService {
  private readonly logger = new Logger(WebhookDeliveryService.name);
  private readonly inFlight = new Map<string, number>();
  /** Per endpoint, the parked attempts by delivery id, oldest first (a Map keeps insertion order). */
  private readonly parked = new Map<string, Map<string, DeliverJobData>>();
  private parkedCount = 0;
  private parkingClosed = false;
  readonly perEndpointInFlight: number;

  constructor(
    private readonly repository: WebhooksRepository,
    private readonly webhooks: WebhooksService,
    private readonly config: AppConfig,
    private readonly metrics: WebhookMetrics,
    @InjectQueue(WEBHOOKS_QUEUE) private readonly queue: Queue<DeliverJobData>,
  ) {
    this.perEndpointInFlight = Math.max(1, Math.floor(config.webhooks.concurrency / 4));
  }

  /** Attempts parked in this process, waiting for a slot of their endpoint. */
  get parkedAttempts(): number {
    return this.parkedCount;
  }

  /**
   * Runs the attempt, then, in the same slot, the attempts parked behind it for its endpoint
   * until none is left. Over the cap, the attempt is parked instead.
   */
  async attempt(job: DeliverJobData): Promise<AttemptOutcome> {
    const busy = this.inFlight.get(job.endpointId) ?? 0;
    if (busy >= this.perEndpointInFlight) return this.park(job);
    this.inFlight.set(job.endpointId, busy + 1);
    try {
      const outcome = await this.attemptClaimed(job);
      for (let next = this.unpark(job.endpointId); next; next = this.unpark(job.endpointId)) {
        await this.attemptClaimed(next);
      }
      return outcome;
    } catch (error) {
      // PostgreSQL or Redis failed around an attempt: the parked ones would most likely fail the
      // same way. They stay pending in PostgreSQL, and the sweeper queues them again.
      this.dropParked(job.endpointId);
      throw error;
    } finally {
      const left = (this.inFlight.get(job.endpointId) ?? 1) - 1;
      if (left <= 0) this.inFlight.delete(job.endpointId);
      else this.inFlight.set(job.endpointId, left);
    }
  }

  /** At shutdown: no attempt is parked any more, and the parked ones are left to the sweeper. */
  closeParking(): void {
    this.parkingClosed = true;
    for (const endpointId of [...this.parked.keys()]) this.dropParked(endpointId);
  }

  private async park(job: DeliverJobData): Promise<AttemptOutcome> {
    const waiting = this.parked.get(job.endpointId) ?? new Map<string, DeliverJobData>();
    // A sweep job for a delivery already parked adds nothing: the parked attempt will run.
    if (waiting.has(job.deliveryId)) return 'endpoint_busy';
    if (this.parkingClosed || this.parkedCount >= PARKED_ATTEMPTS_MAX) {
      // Not an attempt: try again shortly, without holding a worker slot or memory meanwhile.
      await this.queue.add(DELIVER_JOB, job, {
        ...DELIVER_JOB_OPTIONS,
        delay: ENDPOINT_BUSY_DELAY_MS + Math.floor(Math.random() * ENDPOINT_BUSY_DELAY_MS),
      });
      return 'endpoint_busy';
    }
    waiting.set(job.deliveryId, job);
    this.parked.set(job.endpointId, waiting);
    this.parkedCount++;
    this.metrics.parkedAttempts.set(this.parkedCount);
    return 'endpoint_busy';
  }

  private unpark(endpointId: string): DeliverJobData | undefined {
    const waiting = this.parked.get(endpointId);
    const next = waiting?.values().next().value;
    if (!waiting || !next) return undefined;
    waiting.delete(next.deliveryId);
    if (waiting.size === 0) this.parked.delete(endpointId);
    this.parkedCount--;
    this.metrics.parkedAttempts.set(this.parkedCount);
    return next;
  }

  private dropParked(endpointId: string): void {
    const waiting = this.parked.get(endpointId);
    if (!waiting) return;
    this.parked.delete(endpointId);
    this.parkedCount -= waiting.size;
    this.metrics.parkedAttempts.set(this.parkedCount);
  }

  private async attemptClaimed(job: DeliverJobData): Promise<AttemptOutcome> {
    const { timeoutMs, maxAttempts, retryBaseMs, disableAfterMs, allowPrivateNetworks, sweepIntervalMs } = this.config.webhooks;
    const claimed = await this.repository.claimAttempt(job.deliveryId, attemptLeaseMs(timeoutMs, sweepIntervalMs));
    if (!claimed) return 'skipped';

    const secrets = [this.webhooks.secrets.open(claimed.secretCiphertext, claimed.endpointId)];
    if (claimed.previousSecretCiphertext) secrets.push(this.webhooks.secrets.open(claimed.previousSecretCiphertext, claimed.endpointId));
    const { event } = claimed;
    const body = JSON.stringify({ id: event.id, type: event.type, createdAt: event.createdAt.toISOString(), data: event.data });
    const timestampSeconds = Math.floor(Date.now() / 1000);
    const result = await sendWebhook({
      url: claimed.url,
      body,
      timeoutMs,
      allowPrivateNetworks,
      headers: {
        'content-type': 'application/json',
        'user-agent': USER_AGENT,
        'webhook-id': event.id,
        'webhook-timestamp': String(timestampSeconds),
        'webhook-signature': signatureHeader(secrets, event.id, timestampSeconds, body),
      },
    });
    const record = {
      at: new Date().toISOString(),
      statusCode: result.statusCode,
      latencyMs: result.latencyMs,
      error: result.ok ? null : result.error,
    };

    if (result.ok) {
      await this.repository.recordSuccess(claimed.deliveryId, claimed.endpointId, record);
      this.metrics.attempts.inc({ outcome: 'delivered' });
      this.metrics.attemptDuration.observe({ outcome: 'delivered' }, result.latencyMs / 1000);
      this.metrics.commitToDelivery.observe(Math.max(0, Date.now() - event.createdAt.getTime()) / 1000);
      return 'delivered';
    }

    const final = claimed.attemptCount >= maxAttempts;
    const delayMs = retryDelayMs(claimed.attemptCount, retryBaseMs);
    const { endpointDisabled } = await this.repository.recordFailure({
      deliveryId: claimed.deliveryId,
      endpointId: claimed.endpointId,
      attempt: record,
      final,
      retryDelayMs: delayMs,
      disableAfterMs,
    });
    const outcome = final ? 'failed' : 'retrying';
    this.metrics.attempts.inc({ outcome });
    this.metrics.attemptDuration.observe({ outcome }, result.latencyMs / 1000);
    if (endpointDisabled) {
      this.logger.warn({ endpointId: claimed.endpointId, error: record.error }, 'webhook endpoint disabled after failing too long');
    }
    if (!final && !endpointDisabled) {
      // If this add is lost (Redis down), the sweeper finds the delivery overdue and adds it.
      await this.queue.add(
        DELIVER_JOB,
        { deliveryId: claimed.deliveryId, endpointId: claimed.endpointId },
        { ...DELIVER_JOB_OPTIONS, delay: delayMs, jobId: deliverJobId(claimed.deliveryId, claimed.attemptCount) },
      );
    }
    return outcome;
  }
}
