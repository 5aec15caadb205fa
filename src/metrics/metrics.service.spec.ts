import { MetricsService, QueueDepthSource } from './metrics.service';

describe('MetricsService queue depth', () => {
  const queue = (name: string, counts: Record<string, number>): QueueDepthSource => ({
    name,
    getJobCounts: async () => counts,
  });

  it('reports no queue samples while no queue is registered', async () => {
    const metrics = new MetricsService();
    expect(await metrics.registry.getSingleMetricAsString('bullmq_queue_jobs')).not.toMatch(/queue="/);
  });

  it('reads every registered queue at scrape time', async () => {
    const metrics = new MetricsService();
    const counts = { waiting: 3, active: 1, delayed: 0, prioritized: 0, 'waiting-children': 0, failed: 2 };
    metrics.watchQueues([queue('reports', counts), queue('reconciliation', { ...counts, waiting: 7 })]);
    const text = await metrics.registry.getSingleMetricAsString('bullmq_queue_jobs');
    expect(text).toContain('bullmq_queue_jobs{queue="reports",state="waiting"} 3');
    expect(text).toContain('bullmq_queue_jobs{queue="reports",state="failed"} 2');
    expect(text).toContain('bullmq_queue_jobs{queue="reconciliation",state="waiting"} 7');
  });

  it('answers the scrape without depths when Redis does not answer or fails', async () => {
    const metrics = new MetricsService();
    metrics.watchQueues([queue('reports', { waiting: 1 })]);
    expect(await metrics.registry.getSingleMetricAsString('bullmq_queue_jobs')).toContain('queue="reports"');

    metrics.watchQueues([{ name: 'stuck', getJobCounts: () => new Promise(() => undefined) }]);
    expect(await metrics.registry.getSingleMetricAsString('bullmq_queue_jobs')).not.toMatch(/queue="/);

    metrics.watchQueues([{ name: 'broken', getJobCounts: () => Promise.reject(new Error('Connection is closed.')) }]);
    expect(await metrics.registry.getSingleMetricAsString('bullmq_queue_jobs')).not.toMatch(/queue="/);
  });
});

describe('MetricsService tail metrics', () => {
  const bucketCount = (text: string, name: string, label: string, le: string): number => {
    const line = text
      .split('\n')
      .find((candidate) => candidate.startsWith(`${name}_bucket{`) && candidate.includes(label) && candidate.includes(`le="${le}"`));
    return Number(line?.split(' ')[1]);
  };

  it('puts every batch item\'s queue wait, each batch size and its run time into histograms per batch kind', async () => {
    const metrics = new MetricsService();
    try {
      const observer = metrics.batchObserver('purchase');
      observer.batchRan({ size: 3, queuedMs: [0.2, 4, 40], runMs: 12, ok: true });
      observer.batchRan({ size: 1, queuedMs: [0], runMs: 3_000, ok: false });
      const wait = await metrics.registry.getSingleMetricAsString('batch_queue_wait_seconds');
      expect(wait).toContain('batch_queue_wait_seconds_count{batch="purchase"} 4');
      expect(bucketCount(wait, 'batch_queue_wait_seconds', 'batch="purchase"', '0.0005')).toBe(2);
      expect(bucketCount(wait, 'batch_queue_wait_seconds', 'batch="purchase"', '0.005')).toBe(3);
      const run = await metrics.registry.getSingleMetricAsString('batch_run_seconds');
      expect(run).toContain('batch_run_seconds_count{batch="purchase",outcome="committed"} 1');
      expect(run).toContain('batch_run_seconds_count{batch="purchase",outcome="failed"} 1');
      const size = await metrics.registry.getSingleMetricAsString('batch_size_items');
      expect(size).toContain('batch_size_items_sum{batch="purchase"} 4');
    } finally {
      metrics.onModuleDestroy();
    }
  });

  it('exports an event-loop delay histogram, GC pauses with sub-millisecond buckets, and the answering process id', async () => {
    const metrics = new MetricsService();
    try {
      const text = await metrics.registry.metrics();
      expect(text).toContain('# TYPE nodejs_eventloop_delay_seconds histogram');
      expect(text).toContain('nodejs_eventloop_delay_seconds_bucket{le="0.0005"}');
      expect(text).toContain('# TYPE nodejs_gc_duration_seconds histogram');
      expect(text).toContain(`process_id ${process.pid}`);
    } finally {
      metrics.onModuleDestroy();
    }
  });
});
