import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service';
import { WebhooksRepository } from './webhooks.repository';

/** A scrape answers even when PostgreSQL does not; the per-endpoint ages are skipped past this. */
const AGE_QUERY_TIMEOUT_MS = 500;

/** The events and webhook metrics, on the service's registry. */
@Injectable()
export class WebhookMetrics {
  readonly eventsWritten: Counter<'type'>;
  readonly attempts: Counter<'outcome'>;
  readonly attemptDuration: Histogram<'outcome'>;
  readonly commitToDelivery: Histogram;
  readonly oldestUndelivered: Gauge<'endpoint'>;
  readonly parkedAttempts: Gauge;

  constructor(metrics: MetricsService, repository: WebhooksRepository) {
    const registers = [metrics.registry];
    this.eventsWritten = new Counter({
      name: 'events_written_total',
      help: 'Committed events by type, counted once as webhook dispatch passes them (worker processes)',
      labelNames: ['type'] as const,
      registers,
    });
    this.attempts = new Counter({
      name: 'webhook_delivery_attempts_total',
      help: 'Webhook delivery attempts by outcome (delivered, retrying, failed: no attempt left)',
      labelNames: ['outcome'] as const,
      registers,
    });
    this.attemptDuration = new Histogram({
      name: 'webhook_delivery_attempt_duration_seconds',
      help: 'Duration of one webhook HTTP attempt, by outcome',
      labelNames: ['outcome'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.commitToDelivery = new Histogram({
      name: 'webhook_commit_to_delivery_seconds',
      help: "From an event's commit (its createdAt) to its successful delivery",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 600, 3_600, 86_400],
      registers,
    });
    this.parkedAttempts = new Gauge({
      name: 'webhook_parked_attempts',
      help: 'Attempts waiting in this process for a slot of their endpoint (at its in-flight cap)',
      registers,
    });
    this.oldestUndelivered = new Gauge({
      name: 'webhook_oldest_undelivered_event_age_seconds',
      help: 'Per endpoint, the age of the oldest event still pending delivery there (read at scrape time)',
      labelNames: ['endpoint'] as const,
      registers,
      collect: async () => {
        let timer: NodeJS.Timeout | undefined;
        const ages = repository.oldestUndeliveredAges();
        try {
          const result = await Promise.race([
            ages,
            new Promise<undefined>((resolve) => {
              timer = setTimeout(() => resolve(undefined), AGE_QUERY_TIMEOUT_MS);
            }),
          ]);
          if (!result) return;
          this.oldestUndelivered.reset();
          for (const { endpointId, ageSeconds } of result) this.oldestUndelivered.set({ endpoint: endpointId }, ageSeconds);
        } catch {
          // Unknown ages are left as they were rather than reported as zero.
        } finally {
          clearTimeout(timer);
          ages.catch(() => undefined);
        }
      },
    });
  }
}
