import { Batcher, ItemResult } from './batcher';

interface Item {
  lane: string;
  key: string;
  value: number;
}

function recordingRunner(delayMs = 5) {
  const batches: Item[][] = [];
  const run = async (items: Item[]): Promise<ItemResult<number>[]> => {
    batches.push(items);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    return items.map((item) => (item.value < 0 ? { ok: false, error: new Error(`bad ${item.value}`) } : { ok: true, value: item.value * 10 }));
  };
  return { batches, run };
}

const options = { lanes: 4, batchSizeMax: 3, laneKey: (i: Item) => i.lane, dedupeKey: (i: Item) => i.key };

describe('Batcher', () => {
  it('runs a lone submission at once and resolves it with its own result', async () => {
    const { batches, run } = recordingRunner();
    const batcher = new Batcher(options, run);
    await expect(batcher.submit({ lane: 'a', key: 'k1', value: 1 })).resolves.toBe(10);
    expect(batches).toHaveLength(1);
  });

  it('coalesces what arrives while a batch runs, up to batchSizeMax, oldest first', async () => {
    const { batches, run } = recordingRunner();
    const batcher = new Batcher(options, run);
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map((value) => batcher.submit({ lane: 'a', key: `k${value}`, value })));
    expect(results).toEqual([10, 20, 30, 40, 50, 60]);
    expect(batches.map((batch) => batch.map((item) => item.value))).toEqual([[1], [2, 3, 4], [5, 6]]);
  });

  it('never puts one dedupe key twice in a batch', async () => {
    const { batches, run } = recordingRunner();
    const batcher = new Batcher(options, run);
    await Promise.all([1, 2, 3].map((value) => batcher.submit({ lane: 'a', key: 'same', value })));
    expect(batches.every((batch) => batch.length === 1)).toBe(true);
    expect(batches).toHaveLength(3);
  });

  it('rejects only the items the runner refused', async () => {
    const { run } = recordingRunner();
    const batcher = new Batcher(options, run);
    const outcomes = await Promise.allSettled([1, -2, 3].map((value) => batcher.submit({ lane: 'a', key: `k${value}`, value })));
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('fails the items queued behind a batch with its error when failQueuedOn accepts it, then keeps serving', async () => {
    const runs: number[][] = [];
    let fail = true;
    const batcher = new Batcher(
      { ...options, batchSizeMax: 1, failQueuedOn: (error) => (error as Error).message === 'database down' },
      async (items: Item[]) => {
        runs.push(items.map((item) => item.value));
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (fail) throw new Error('database down');
        return items.map((item) => ({ ok: true as const, value: item.value }));
      },
    );
    const outcomes = await Promise.allSettled([1, 2, 3].map((value) => batcher.submit({ lane: 'a', key: `k${value}`, value })));
    // One attempt for the three: the queued two were never run.
    expect(runs).toEqual([[1]]);
    expect(outcomes.map((outcome) => outcome.status === 'rejected' && (outcome.reason as Error).message)).toEqual([
      'database down',
      'database down',
      'database down',
    ]);
    fail = false;
    await expect(batcher.submit({ lane: 'a', key: 'k4', value: 4 })).resolves.toBe(4);
  });

  it('keeps the queue when the error is not one failQueuedOn accepts', async () => {
    const runs: number[][] = [];
    const batcher = new Batcher({ ...options, batchSizeMax: 1, failQueuedOn: () => false }, async (items: Item[]) => {
      runs.push(items.map((item) => item.value));
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (items[0]!.value === 1) throw new Error('only this batch');
      return items.map((item) => ({ ok: true as const, value: item.value }));
    });
    const outcomes = await Promise.allSettled([1, 2].map((value) => batcher.submit({ lane: 'a', key: `k${value}`, value })));
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'fulfilled']);
    expect(runs).toEqual([[1], [2]]);
  });

  it('rejects every item of a batch whose runner throws, then keeps serving', async () => {
    let fail = true;
    const batcher = new Batcher(options, async (items: Item[]) => {
      if (fail) throw new Error('database down');
      return items.map((item) => ({ ok: true as const, value: item.value }));
    });
    await expect(batcher.submit({ lane: 'a', key: 'k1', value: 1 })).rejects.toThrow('database down');
    fail = false;
    await expect(batcher.submit({ lane: 'a', key: 'k2', value: 2 })).resolves.toBe(2);
  });

  it('runs one batch at a time per lane key, while other lanes run alongside', async () => {
    const spans: Array<{ lanes: Set<string>; start: number; end: number }> = [];
    let concurrent = 0;
    let concurrentMax = 0;
    const batcher = new Batcher({ ...options, lanes: 8, batchSizeMax: 100 }, async (items: Item[]) => {
      const span = { lanes: new Set(items.map((item) => item.lane)), start: performance.now(), end: 0 };
      concurrent++;
      concurrentMax = Math.max(concurrentMax, concurrent);
      await new Promise((resolve) => setTimeout(resolve, 10));
      concurrent--;
      span.end = performance.now();
      spans.push(span);
      return items.map((item) => ({ ok: true as const, value: item.value }));
    });
    await Promise.all(Array.from({ length: 60 }, (_, i) => batcher.submit({ lane: `author-${i % 6}`, key: `k${i}`, value: i })));
    for (const a of spans) {
      for (const b of spans) {
        const shareLane = a !== b && [...a.lanes].some((lane) => b.lanes.has(lane));
        if (shareLane) expect(a.end <= b.start || b.end <= a.start).toBe(true);
      }
    }
    expect(concurrentMax).toBeGreaterThan(1);
    // 60 submissions at once: each lane's first batch runs alone, the rest coalesce.
    expect(spans.length).toBeLessThanOrEqual(16);
  });

  it('tells the observer each batch: its size, every item\'s queue wait, and whether it committed', async () => {
    const observed: Array<{ size: number; queued: number; ok: boolean }> = [];
    let fail = false;
    const batcher = new Batcher(
      {
        ...options,
        observer: {
          batchRan: ({ size, queuedMs, runMs, ok }) => {
            expect(queuedMs.every((waited) => waited >= 0) && runMs >= 0).toBe(true);
            observed.push({ size, queued: queuedMs.length, ok });
          },
        },
      },
      async (items: Item[]) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (fail) throw new Error('database down');
        return items.map((item) => ({ ok: true as const, value: item.value }));
      },
    );
    await Promise.all([1, 2, 3, 4].map((value) => batcher.submit({ lane: 'a', key: `k${value}`, value })));
    fail = true;
    await expect(batcher.submit({ lane: 'a', key: 'k5', value: 5 })).rejects.toThrow('database down');
    expect(observed).toEqual([
      { size: 1, queued: 1, ok: true },
      { size: 3, queued: 3, ok: true },
      { size: 1, queued: 1, ok: false },
    ]);
  });

  it('refuses nonsensical limits', () => {
    const { run } = recordingRunner();
    expect(() => new Batcher({ ...options, lanes: 0 }, run)).toThrow(RangeError);
    expect(() => new Batcher({ ...options, batchSizeMax: 0 }, run)).toThrow(RangeError);
  });
});
