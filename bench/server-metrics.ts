import { request } from './load';

/**
 * The service's own view of a request's tail, from `/metrics` of every HTTP process: event-loop
 * delay, GC pauses, and the group commit's queue wait and batch run time. Each cluster worker
 * answers a scrape for itself (`process_id`), so the bench scrapes over fresh connections until
 * it has heard every worker, and sums the histograms (they add up across processes).
 */

/** One scrape: per series (name + labels, `le` included) its value. */
type Samples = Map<string, number>;

export interface MetricsSnapshot {
  /** Samples per process id. */
  byProcess: Map<number, Samples>;
}

const WANTED = /^(nodejs_heap_size_used_bytes|nodejs_heap_size_total_bytes|nodejs_eventloop_delay_seconds|nodejs_gc_duration_seconds|batch_queue_wait_seconds|batch_run_seconds|batch_size_items|process_id)/;
const SCRAPES_MAX = 24;

function parse(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !WANTED.test(line)) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

/**
 * A scrape that does not answer in time is skipped: the tail figures then say fewer processes. A
 * saturated service answers a scrape only after the requests queued before it.
 */
const SCRAPE_TIMEOUT_MS = 20_000;

/** Never rejects: the phase's own figures must not be lost to a scrape that failed. */
export async function scrapeMetrics(port: number, processes: number): Promise<MetricsSnapshot> {
  const byProcess = new Map<number, Samples>();
  for (let attempt = 0; attempt < SCRAPES_MAX && byProcess.size < processes; attempt++) {
    const response = await request(port, { method: 'GET', path: '/metrics', headers: {} }, SCRAPE_TIMEOUT_MS).catch(() => undefined);
    if (response?.status !== 200) break;
    const samples = parse(response.body);
    const pid = samples.get('process_id');
    if (pid !== undefined && !byProcess.has(pid)) byProcess.set(pid, samples);
  }
  return { byProcess };
}

/** Summed over the processes heard in both snapshots: after minus before. */
function delta(before: MetricsSnapshot, after: MetricsSnapshot): Samples {
  const sum: Samples = new Map();
  for (const [pid, end] of after.byProcess) {
    const start = before.byProcess.get(pid);
    if (!start) continue;
    for (const [series, value] of end) {
      if (series === 'process_id') continue;
      sum.set(series, (sum.get(series) ?? 0) + value - (start.get(series) ?? 0));
    }
  }
  return sum;
}

/** A quantile from cumulative buckets: the upper bound of the bucket it falls in (as Prometheus would bound it). */
function bucketQuantile(samples: Samples, name: string, labels: string, quantile: number): number {
  const buckets: { le: number; count: number }[] = [];
  for (const [series, count] of samples) {
    if (!series.startsWith(`${name}_bucket{`) || !series.includes(labels)) continue;
    const le = /le="([^"]+)"/.exec(series)![1]!;
    buckets.push({ le: le === '+Inf' ? Infinity : Number(le), count });
  }
  buckets.sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.count ?? 0;
  if (total === 0) return NaN;
  return buckets.find((bucket) => bucket.count >= quantile * total)!.le;
}

function labelled(samples: Samples, name: string, labels: string): number {
  let total = 0;
  for (const [series, value] of samples) {
    if (series.startsWith(name) && (labels === '' || series.includes(labels))) total += value;
  }
  return total;
}

export interface TailFigures {
  processes: number;
  /** Event-loop delay p99 and the bucket of its largest sample, ms (upper bucket bounds). */
  loopDelayP99Ms: number;
  loopDelayMaxBucketMs: number;
  /** Share of each process's time spent in GC pauses, and pauses per second per process. */
  gcShare: number;
  gcPausesPerSecond: number;
  gcP99Ms: number;
  /** JavaScript heap used and reserved at the end of the phase, per process, MiB. */
  heapUsedMiB: number[];
  heapTotalMiB: number[];
  /** Purchase (or deposit) batches: queue wait p50/p99, run p50/p99 (ms), items per batch. */
  batch?: { queueP50Ms: number; queueP99Ms: number; runP50Ms: number; runP99Ms: number; meanSize: number };
}

export function tailFigures(before: MetricsSnapshot, after: MetricsSnapshot, seconds: number, batch: string): TailFigures {
  const samples = delta(before, after);
  const processes = [...after.byProcess.keys()].filter((pid) => before.byProcess.has(pid)).length;
  const gcSeconds = labelled(samples, 'nodejs_gc_duration_seconds_sum', '');
  const gcCount = labelled(samples, 'nodejs_gc_duration_seconds_count', '');
  const maxBucket = (name: string, labels: string) => bucketQuantile(samples, name, labels, 1) * 1_000;
  const batchLabel = `batch="${batch}"`;
  const batches = labelled(samples, 'batch_size_items_count', batchLabel);
  // GC histograms are per kind: merge the kinds' buckets by summing the same `le`.
  const gcBuckets: Samples = new Map();
  for (const [series, value] of samples) {
    if (!series.startsWith('nodejs_gc_duration_seconds_bucket')) continue;
    const le = /le="([^"]+)"/.exec(series)![1]!;
    const key = `gc_bucket{le="${le}"}`;
    gcBuckets.set(key, (gcBuckets.get(key) ?? 0) + value);
  }
  const perProcess = (series: string) => [...after.byProcess.values()].map((samples) => (samples.get(series) ?? NaN) / 2 ** 20);
  return {
    processes,
    heapUsedMiB: perProcess('nodejs_heap_size_used_bytes'),
    heapTotalMiB: perProcess('nodejs_heap_size_total_bytes'),
    loopDelayP99Ms: bucketQuantile(samples, 'nodejs_eventloop_delay_seconds', '', 0.99) * 1_000,
    loopDelayMaxBucketMs: maxBucket('nodejs_eventloop_delay_seconds', ''),
    gcShare: processes > 0 ? gcSeconds / (seconds * processes) : NaN,
    gcPausesPerSecond: processes > 0 ? gcCount / (seconds * processes) : NaN,
    gcP99Ms: bucketQuantile(gcBuckets, 'gc', '', 0.99) * 1_000,
    batch:
      batches > 0
        ? {
            queueP50Ms: bucketQuantile(samples, 'batch_queue_wait_seconds', batchLabel, 0.5) * 1_000,
            queueP99Ms: bucketQuantile(samples, 'batch_queue_wait_seconds', batchLabel, 0.99) * 1_000,
            runP50Ms: bucketQuantile(samples, 'batch_run_seconds', batchLabel, 0.5) * 1_000,
            runP99Ms: bucketQuantile(samples, 'batch_run_seconds', batchLabel, 0.99) * 1_000,
            meanSize: labelled(samples, 'batch_size_items_sum', batchLabel) / batches,
          }
        : undefined,
  };
}
