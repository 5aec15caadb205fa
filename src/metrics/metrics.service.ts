import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { BatchObserver } from '../common/batching/batcher';
import type { PoolUsage } from '../db/pool-usage';

/** What happened to one money operation; `wallet_operations_total`'s `outcome` label. */
export type OperationOutcome =
  | 'completed' // moved money (2xx)
  | 'replayed' // answered from a stored result, moved nothing
  | 'conflict' // 409: the same key is still in flight
  | 'key_reused' // 422: the same key with a different payload
  | 'rejected' // another 4xx (insufficient funds, unknown wallet, ...)
  | 'failed'; // 5xx: a dependency failed; the client retries with the same key

/** Job states reported per queue; `completed` is left out because it only grows. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'failed'] as const;

/** The subset of a BullMQ queue that the depth gauge reads. */
export interface QueueDepthSource {
  readonly name: string;
  getJobCounts(...states: string[]): Promise<Record<string, number>>;
}

/** A scrape must answer even when Redis does not; queue depths are skipped past this. */
const QUEUE_DEPTH_TIMEOUT_MS = 500;

/**
 * Buckets for the tail of a request (seconds): GC pauses, event-loop delay and batch waits are
 * mostly below a millisecond and matter from a few milliseconds on. prom-client's default GC
 * buckets start at 1 ms and jump to 10 ms, which hides exactly the pauses that add up.
 */
export const TAIL_BUCKETS_SECONDS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * How often the event-loop delay is sampled. Each sample is how late a timer fired, so a
 * blocked loop shows as one sample as long as the block: coarse sampling loses no stall.
 */
export const EVENT_LOOP_SAMPLE_MS = 20;

/**
 * The process's Prometheus registry and the service's own metrics. Modules record through
 * this service; `GET /metrics` renders the registry.
 */
@Injectable()
export class MetricsService implements OnModuleDestroy {
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
    help: 'Money operations by kind and outcome (completed, replayed, conflict, key_reused, rejected, failed)',
    labelNames: ['operation', 'outcome'] as const,
    registers: [this.registry],
  });

  private queues: readonly QueueDepthSource[] = [];

  readonly queueDepth = new Gauge({
    name: 'bullmq_queue_jobs',
    help: 'Jobs per BullMQ queue and state, read from Redis at scrape time',
    labelNames: ['queue', 'state'] as const,
    registers: [this.registry],
    collect: () => this.collectQueueDepths(),
  });

  recordOperation(operation: string, outcome: OperationOutcome): void {
    this.moneyOperations.inc({ operation, outcome });
  }

  /** Called once the application has built its queues (whichever modules registered some). */
  watchQueues(queues: readonly QueueDepthSource[]): void {
    this.queues = queues;
  }

  private async collectQueueDepths(): Promise<void> {
    this.queueDepth.reset();
    if (this.queues.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), QUEUE_DEPTH_TIMEOUT_MS);
    });
    const counts = Promise.all(this.queues.map(async (queue) => ({ queue, counts: await queue.getJobCounts(...QUEUE_STATES) })));
    try {
      // With Redis down the queue connection waits for it forever; the scrape does not.
      const results = await Promise.race([counts, timeout]);
      for (const { queue, counts: byState } of results ?? []) {
        for (const state of QUEUE_STATES) this.queueDepth.set({ queue: queue.name, state }, byState[state] ?? 0);
      }
    } catch {
      // Unknown depths are left out rather than reported as zero.
    } finally {
      clearTimeout(timer);
      counts.catch(() => undefined);
    }
  }

  private poolUsage: () => PoolUsage | undefined = () => undefined;

  /** Read at scrape time: nothing is recorded per query here. */
  readonly poolConnectionsInUse = new Gauge({
    name: 'db_pool_connections_in_use',
    help: 'PostgreSQL connections of this process in use (transactions, reservations, running statements)',
    registers: [this.registry],
    collect: () => this.collectPoolUsage(),
  });

  readonly poolWaiting = new Gauge({
    name: 'db_pool_waiting',
    help: 'Statements and transactions of this process waiting for a PostgreSQL connection',
    registers: [this.registry],
  });

  readonly poolConnectionsMax = new Gauge({
    name: 'db_pool_connections_max',
    help: 'Size of this process\'s PostgreSQL pool (DATABASE_POOL_MAX)',
    registers: [this.registry],
  });

  /** Called once by the database pool's watcher. */
  watchPool(usage: () => PoolUsage | undefined): void {
    this.poolUsage = usage;
  }

  private collectPoolUsage(): void {
    const usage = this.poolUsage();
    if (!usage) return;
    this.poolConnectionsInUse.set(usage.inUse);
    this.poolWaiting.set(usage.waiting);
    this.poolConnectionsMax.set(usage.max);
  }

  readonly queueJobs = new Counter({
    name: 'queue_jobs_total',
    help: 'BullMQ job attempts by queue, job name and outcome (completed, retried, failed), and jobs Redis lost: requeued by the sweep, or abandoned with their row failed',
    labelNames: ['queue', 'job', 'outcome'] as const,
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

  readonly eventLoopDelay = new Histogram({
    name: 'nodejs_eventloop_delay_seconds',
    help: `How late a timer due every ${EVENT_LOOP_SAMPLE_MS} ms ran: the time the event loop was busy with something else`,
    buckets: TAIL_BUCKETS_SECONDS,
    registers: [this.registry],
  });

  /** Which process of a cluster answered the scrape (each worker has its own registry). */
  readonly processId: Gauge = new Gauge({
    name: 'process_id',
    help: 'The operating-system id of the process that answered this scrape',
    registers: [this.registry],
    collect: (): void => this.processId.set(process.pid),
  });

  readonly batchQueueWait = new Histogram({
    name: 'batch_queue_wait_seconds',
    help: 'How long an item of a group-committed operation waited for its batch to start (the batch in flight to finish)',
    labelNames: ['batch'] as const,
    buckets: TAIL_BUCKETS_SECONDS,
    registers: [this.registry],
  });

  readonly batchRun = new Histogram({
    name: 'batch_run_seconds',
    help: 'How long one batch of a group-committed operation took, from start to commit (or failure)',
    labelNames: ['batch', 'outcome'] as const,
    buckets: TAIL_BUCKETS_SECONDS,
    registers: [this.registry],
  });

  readonly batchSize = new Histogram({
    name: 'batch_size_items',
    help: 'Items per batch of a group-committed operation',
    labelNames: ['batch'] as const,
    buckets: [1, 2, 4, 8, 16, 32, 64, 128],
    registers: [this.registry],
  });

  /** What a Batcher reports about each batch, as the three batch histograms under `name`. */
  batchObserver(name: string): BatchObserver {
    const queueWait = this.batchQueueWait.labels({ batch: name });
    const size = this.batchSize.labels({ batch: name });
    const ran = this.batchRun.labels({ batch: name, outcome: 'committed' });
    const failed = this.batchRun.labels({ batch: name, outcome: 'failed' });
    return {
      batchRan: ({ size: items, queuedMs, runMs, ok }) => {
        size.observe(items);
        for (const waitedMs of queuedMs) queueWait.observe(waitedMs / 1_000);
        (ok ? ran : failed).observe(runMs / 1_000);
      },
    };
  }

  private eventLoopTimer: NodeJS.Timeout | undefined;

  constructor() {
    collectDefaultMetrics({ register: this.registry, gcDurationBuckets: TAIL_BUCKETS_SECONDS });
    this.sampleEventLoop(performance.now());
  }

  onModuleDestroy(): void {
    clearTimeout(this.eventLoopTimer);
  }

  private sampleEventLoop(scheduledAt: number): void {
    this.eventLoopTimer = setTimeout(() => {
      const now = performance.now();
      this.eventLoopDelay.observe(Math.max(0, now - scheduledAt - EVENT_LOOP_SAMPLE_MS) / 1_000);
      this.sampleEventLoop(now);
    }, EVENT_LOOP_SAMPLE_MS);
    // Sampling alone never keeps a process (or a test) alive.
    this.eventLoopTimer.unref();
  }
}
