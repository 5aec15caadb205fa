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
