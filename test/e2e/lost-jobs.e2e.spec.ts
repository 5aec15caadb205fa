import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { ReconciliationService } from '../../src/reconciliation/reconciliation.service';
import { ADMIN_USER_ID, startTestApp, TestApp } from '../setup/test-app';
import { TEST_REDIS_URL } from '../setup/test-env';

const POLL_INTERVAL_MS = 100;
const POLLS_MAX = 300;

/** Polls a resource until `done` says so; bounded, so that a stuck row fails the test instead of hanging it. */
async function waitUntil<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  let last: T | undefined;
  for (let poll = 0; poll < POLLS_MAX; poll++) {
    last = await read();
    if (done(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  throw new Error(`${what} not reached; last seen ${JSON.stringify(last)}`);
}

/**
 * A job lost in Redis (a Sentinel failover that dropped the last writes, a flush, a restart
 * without persistence) no longer leaves its report or reconciliation run queued for good: the
 * workers' sweep finds the row without a job and queues it again, or fails it clearly once it
 * has waited an hour (ADR 0057).
 */
describe('lost report and reconciliation jobs (e2e)', () => {
  let api: TestApp;
  let worker: TestApp | undefined;
  let redis: Redis;

  beforeAll(async () => {
    // Requests are taken by an instance without workers, so nothing runs until the jobs are gone.
    api = await startTestApp({ env: { APP_ROLE: 'api' } });
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  });

  afterAll(async () => {
    await worker?.close();
    await api.close();
    redis.disconnect();
  });

  /** Empties a queue of this test's prefix, as a Redis that lost its data would. */
  async function loseJobs(queueName: string): Promise<void> {
    const connection = redis.duplicate();
    const queue = new Queue(queueName, { connection, prefix: `${api.keyPrefix}bull` });
    try {
      await queue.obliterate({ force: true });
    } finally {
      await queue.close();
      connection.disconnect();
    }
  }

  it('queues lost jobs again and fails the rows that waited an hour', async () => {
    const reportIds: string[] = [];
    for (let index = 0; index < 5; index++) {
      const queued = await api.api.post('/reports/financial', { userId: ADMIN_USER_ID, body: {} });
      expect(queued.status).toBe(202);
      reportIds.push(queued.body.jobId);
    }
    const run = await api.api.post('/admin/reconciliations', { userId: ADMIN_USER_ID });
    expect(run.status).toBe(202);
    await loseJobs('reports');
    await loseJobs('reconciliation');

    // Past the grace a request has to add its own job; one report has waited more than an hour.
    const [expiredId, ...lostIds] = reportIds;
    await api.db.sql`UPDATE financial_reports SET created_at = created_at - interval '20 seconds'`;
    await api.db.sql`UPDATE financial_reports SET created_at = created_at - interval '2 hours' WHERE id = ${expiredId!}`;
    await api.db.sql`UPDATE reconciliation_runs SET created_at = created_at - interval '20 seconds'`;

    worker = await startTestApp({
      database: api.db,
      keyPrefix: api.keyPrefix,
      env: { APP_ROLE: 'all', JOB_SWEEP_INTERVAL_MS: '1000' },
    });
    const reportOf = async (id: string) => (await api.api.get(`/reports/financial/${id}`, { userId: ADMIN_USER_ID })).body;
    for (const id of lostIds) {
      const finished = await waitUntil(`report ${id} finished`, () => reportOf(id), (body) => body.status !== 'queued' && body.status !== 'processing');
      expect(finished.status).toBe('completed');
    }
    const expired = await waitUntil('expired report failed', () => reportOf(expiredId!), (body) => body.status === 'failed');
    expect(expired.error).toBe('The report was not computed within an hour; request it again');

    const runOf = async () => (await api.api.get(`/admin/reconciliations/${run.body.runId}`, { userId: ADMIN_USER_ID })).body;
    const finishedRun = await waitUntil('reconciliation run finished', runOf, (body) => body.status === 'completed' || body.status === 'failed');
    expect(finishedRun).toMatchObject({ status: 'completed', driftCount: 0 });

    const metrics = await (await fetch(`${worker.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/queue_jobs_total\{queue="reports",job="financial-report",outcome="requeued"\} 4/);
    expect(metrics).toMatch(/queue_jobs_total\{queue="reports",job="financial-report",outcome="abandoned"\} 1/);
    expect(metrics).toMatch(/queue_jobs_total\{queue="reconciliation",job="manual-run",outcome="requeued"\} 1/);
  });

  it('registers the reconciliation schedule again when its next job vanished from Redis', async () => {
    const scheduled = await startTestApp({ env: { APP_ROLE: 'all' } });
    const connection = redis.duplicate();
    const queue = new Queue('reconciliation', { connection, prefix: `${scheduled.keyPrefix}bull` });
    try {
      const scheduler = await waitUntil('the schedule registered', () => queue.getJobScheduler('reconciliation-every'), (found) => Boolean(found?.next));
      const lostJobId = `repeat:reconciliation-every:${scheduler!.next}`;
      // Gone as a lost write would leave it: BullMQ itself refuses to remove a scheduler's job.
      const queueKey = `${scheduled.keyPrefix}bull:reconciliation`;
      await redis.multi().del(`${queueKey}:${lostJobId}`).zrem(`${queueKey}:delayed`, lostJobId).exec();
      expect(await queue.getJob(lostJobId)).toBeUndefined();
      const reconciliation = scheduled.app.get(ReconciliationService);
      // While the next run is not yet due, a missing job is no reason to act.
      expect(await reconciliation.restoreScheduleIfStalled(scheduler!.next! - 1_000)).toBe(false);
      // Overdue and gone: the schedule is registered again and has a next job.
      expect(await reconciliation.restoreScheduleIfStalled(scheduler!.next! + 20_000)).toBe(true);
      const restored = await queue.getJobScheduler('reconciliation-every');
      expect(await queue.getJob(`repeat:reconciliation-every:${restored!.next}`)).toBeDefined();
    } finally {
      await queue.close();
      connection.disconnect();
      await scheduled.close();
    }
  });
});
