/**
 * Coalesces concurrent submissions into batches, one batch in flight per lane. An idle lane
 * runs a submission at once (no added latency); while a lane's batch runs, new submissions
 * queue and go together in the next one. Items whose lane key is equal always share a lane,
 * so the items that lock the same row (a popular author's purchases, one wallet's deposits) end
 * up in the same transaction instead of queuing on that row one commit at a time. Two items
 * with the same dedupe key never share a batch.
 */
export interface BatcherOptions<I> {
  lanes: number;
  batchSizeMax: number;
  laneKey: (item: I) => string;
  dedupeKey: (item: I) => string;
  /**
   * When a whole batch fails with an error this accepts (the database is unavailable), the items
   * queued behind it in its lane fail with the same error at once instead of trying in turn:
   * each would wait as long again, and their callers have already waited for the batch.
   */
  failQueuedOn?: (error: unknown) => boolean;
  /** Told about every batch it runs, for the batch-wait and batch-size metrics. */
  observer?: BatchObserver;
}

/**
 * Where a submission's time goes before its result: waiting in the lane's queue for the batch in
 * flight to finish, then its own batch's run. Both in milliseconds.
 */
export interface BatchObserver {
  batchRan(timing: { size: number; queuedMs: readonly number[]; runMs: number; ok: boolean }): void;
}

/** What the runner says about each item, in the order it received them. */
export type ItemResult<R> = { ok: true; value: R } | { ok: false; error: unknown };

/** One item's outcome as an ItemResult, for runners that fall back to items one by one. */
export async function settle<T>(work: () => Promise<T>): Promise<ItemResult<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    return { ok: false, error };
  }
}

interface Pending<I, R> {
  item: I;
  /** performance.now() at submit. */
  submittedAt: number;
  resolve: (value: R) => void;
  reject: (error: unknown) => void;
}

export class Batcher<I, R> {
  private readonly queues: Pending<I, R>[][];
  private readonly busy: boolean[];

  constructor(
    private readonly options: BatcherOptions<I>,
    private readonly run: (items: I[]) => Promise<ItemResult<R>[]>,
  ) {
    if (!Number.isInteger(options.lanes) || options.lanes < 1) throw new RangeError('lanes must be >= 1');
    if (!Number.isInteger(options.batchSizeMax) || options.batchSizeMax < 1) throw new RangeError('batchSizeMax must be >= 1');
    this.queues = Array.from({ length: options.lanes }, () => []);
    this.busy = Array.from({ length: options.lanes }, () => false);
  }

  submit(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const lane = laneIndex(this.options.laneKey(item), this.options.lanes);
      this.queues[lane]!.push({ item, submittedAt: performance.now(), resolve, reject });
      if (!this.busy[lane]) void this.drain(lane);
    });
  }

  private async drain(lane: number): Promise<void> {
    this.busy[lane] = true;
    try {
      for (let batch = this.take(lane); batch.length > 0; batch = this.take(lane)) {
        await this.runBatch(lane, batch);
      }
    } finally {
      this.busy[lane] = false;
    }
  }

  /** The next batch: oldest first, at most batchSizeMax, at most one item per dedupe key. */
  private take(lane: number): Pending<I, R>[] {
    const queue = this.queues[lane]!;
    const batch: Pending<I, R>[] = [];
    const keys = new Set<string>();
    const left: Pending<I, R>[] = [];
    for (const pending of queue) {
      const key = this.options.dedupeKey(pending.item);
      if (batch.length < this.options.batchSizeMax && !keys.has(key)) {
        keys.add(key);
        batch.push(pending);
      } else {
        left.push(pending);
      }
    }
    this.queues[lane] = left;
    return batch;
  }

  private async runBatch(lane: number, batch: Pending<I, R>[]): Promise<void> {
    let results: ItemResult<R>[];
    const startedAt = performance.now();
    try {
      results = await this.run(batch.map((pending) => pending.item));
    } catch (error) {
      this.observe(batch, startedAt, false);
      const failing = this.options.failQueuedOn?.(error) ? [...batch, ...this.queues[lane]!.splice(0)] : batch;
      for (const pending of failing) pending.reject(error);
      return;
    }
    this.observe(batch, startedAt, true);
    batch.forEach((pending, index) => {
      const result = results[index];
      if (!result) pending.reject(new Error('batch runner returned no result for an item'));
      else if (result.ok) pending.resolve(result.value);
      else pending.reject(result.error);
    });
  }

  private observe(batch: readonly Pending<I, R>[], startedAt: number, ok: boolean): void {
    const observer = this.options.observer;
    if (!observer) return;
    observer.batchRan({
      size: batch.length,
      queuedMs: batch.map((pending) => startedAt - pending.submittedAt),
      runMs: performance.now() - startedAt,
      ok,
    });
  }
}

/** FNV-1a: a stable, cheap spread of lane keys over lanes. */
function laneIndex(key: string, lanes: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % lanes;
}
