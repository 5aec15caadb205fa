import { recoverLostJobs, UnfinishedWork } from './lost-jobs';

const NOW = new Date('2026-01-01T12:00:00Z');
const HOUR_MS = 3_600_000;

/** Job states as BullMQ reports them; a missing entry is a job Redis no longer holds. */
function queueWith(states: Record<string, string>) {
  return {
    getJob: async (id: string) => (id in states ? { getState: async () => states[id] } : undefined),
  } as never;
}

function row(id: string, ageMs: number): UnfinishedWork {
  return { id, createdAt: new Date(NOW.getTime() - ageMs) };
}

describe('recoverLostJobs', () => {
  it.each([
    ['no job at all', undefined, 'requeued'],
    ['a job BullMQ calls unknown', 'unknown', 'requeued'],
    ['a waiting job', 'waiting', 'left'],
    ['a delayed retry', 'delayed', 'left'],
    ['an active job', 'active', 'left'],
    ['a completed job (the row missed the result)', 'completed', 'job_ended'],
    ['a failed job (the row missed the failure)', 'failed', 'job_ended'],
  ])('a recent row with %s is %s', async (_case, state, expected) => {
    const requeued: string[] = [];
    const failed: [string, string][] = [];
    const outcome = await recoverLostJobs({
      queue: queueWith(state === undefined ? {} : { r1: state }),
      rows: [row('r1', 60_000)],
      now: NOW,
      giveUpAfterMs: HOUR_MS,
      requeue: async (r) => void requeued.push(r.id),
      fail: async (r, reason) => void failed.push([r.id, reason]),
    });
    if (expected === 'requeued') expect([requeued, failed, outcome]).toEqual([['r1'], [], { requeued: ['r1'], failed: [] }]);
    if (expected === 'left') expect([requeued, failed, outcome]).toEqual([[], [], { requeued: [], failed: [] }]);
    if (expected === 'job_ended') expect([requeued, failed, outcome]).toEqual([[], [['r1', 'job_ended']], { requeued: [], failed: ['r1'] }]);
  });

  it('fails a row older than the give-up age whatever its job, without asking Redis', async () => {
    const failed: [string, string][] = [];
    const outcome = await recoverLostJobs({
      queue: { getJob: async () => Promise.reject(new Error('Redis was asked')) } as never,
      rows: [row('old', HOUR_MS + 1)],
      now: NOW,
      giveUpAfterMs: HOUR_MS,
      requeue: async () => Promise.reject(new Error('requeued')),
      fail: async (r, reason) => void failed.push([r.id, reason]),
    });
    expect(failed).toEqual([['old', 'expired']]);
    expect(outcome).toEqual({ requeued: [], failed: ['old'] });
  });
});
