import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The process's Prometheus registry and the service's own metrics. Modules record through
 * this service; `GET /metrics` renders the registry.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly httpRequestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly moneyOperations = new Counter({
    name: 'wallet_operations_total',
    help: 'Money operations by kind and outcome (completed, replayed, conflict, rejected)',
    labelNames: ['operation', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly reconciliationRuns = new Counter({
    name: 'reconciliation_runs_total',
    help: 'Reconciliation runs by outcome (clean, drift, failed, skipped)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly reconciliationDrifts = new Counter({
    name: 'reconciliation_drifts_total',
    help: 'Drifts found by reconciliation, by check',
    labelNames: ['check'] as const,
    registers: [this.registry],
  });

  readonly reconciliationLastRunDrifts = new Gauge({
    name: 'reconciliation_last_run_drifts',
    help: 'Drifts found by the last completed reconciliation run',
    registers: [this.registry],
  });

  readonly reconciliationLastRunDuration = new Gauge({
    name: 'reconciliation_last_run_duration_seconds',
    help: 'Duration of the last completed reconciliation run',
    registers: [this.registry],
  });

  readonly reconciliationLastCompleted = new Gauge({
    name: 'reconciliation_last_completed_timestamp_seconds',
    help: 'When the last reconciliation run completed (Unix time)',
    registers: [this.registry],
  });

  readonly queueJobs = new Counter({
    name: 'queue_jobs_total',
    help: 'BullMQ job attempts by queue, job name and outcome (completed, retried, failed)',
    labelNames: ['queue', 'job', 'outcome'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
