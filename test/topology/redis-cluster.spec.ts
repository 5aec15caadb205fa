import { randomBytes, randomUUID } from 'node:crypto';
import { ServiceProcess } from '../faults/cluster';
import { MoneyLoad } from './money-load';
import { sleep, topologyPort, waitFor } from './postgres-nodes';
import { ClusterTopology, ScratchDatabase } from './redis-nodes';

/**
 * Redis Cluster (ADR 0056). Three masters, every slot covered; an API and a worker process on
 * REDIS_CLUSTER_NODES. Every Redis use of the service works there: idempotency claims and
 * stored results (two keys per script, one hash tag), the rate limiter (it limits, it does not
 * fail open on MOVED), BullMQ queues under a hash-tagged prefix (reports and a manual
 * reconciliation run complete), readiness; and no CROSSSLOT or MOVED error reaches the logs.
 */

const PLATFORM_USER_ID = '00000000-0000-4000-8000-00000000beef';
const ADMIN_USER_ID = '00000000-0000-4000-8000-00000000ad01';
const BOUND_MS = 60_000;
/** Per caller per minute: far above what one load client sends in this test, far below what the burst sends. */
const RATE_LIMIT_PER_MINUTE = 1_000;

describe('Redis Cluster', () => {
  let cluster: ClusterTopology;
  const database = new ScratchDatabase();
  const keyPrefix = `topology:${randomBytes(4).toString('hex')}:`;
  let api: ServiceProcess;
  let worker: ServiceProcess;
  const load = new MoneyLoad(() => api.baseUrl, 2);

  beforeAll(async () => {
    cluster = await ClusterTopology.start();
    const env = {
      DATABASE_URL: database.url,
      DATABASE_POOL_MAX: '8',
      REDIS_URL: 'redis://unused.invalid:6379',
      REDIS_CLUSTER_NODES: cluster.nodeList,
      REDIS_KEY_PREFIX: keyPrefix,
      RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT_PER_MINUTE),
      PLATFORM_ACCOUNT_ID: PLATFORM_USER_ID,
      ADMIN_USER_IDS: ADMIN_USER_ID,
      NODE_ENV: 'test',
      SHUTDOWN_TIMEOUT_MS: '5000',
      LOG_LEVEL: 'info',
    };
    api = new ServiceProcess('api', 'api', await topologyPort(), env);
    await api.start();
    worker = new ServiceProcess('worker', 'worker', await topologyPort(), env);
    await worker.start();
  }, 180_000);

  afterAll(async () => {
    await load.stop().catch(() => undefined);
    await api?.kill('SIGKILL');
    await worker?.kill('SIGKILL');
    await cluster?.stop();
    await database.drop();
  });

  const admin = { 'x-user-id': ADMIN_USER_ID, 'content-type': 'application/json' };

  async function waitForFinished(path: string): Promise<{ status: string; [key: string]: unknown }> {
    let last: { status: string } = { status: 'unknown' };
    await waitFor(
      `${path} finished`,
      async () => {
        last = (await (await fetch(`${api.baseUrl}${path}`, { headers: admin })).json()) as { status: string };
        return last.status === 'completed' || last.status === 'failed';
      },
      BOUND_MS,
    );
    return last;
  }

  it('moves money, replays keys, limits callers, and runs reports and reconciliation on a 3-master cluster', async () => {
    expect((await fetch(`${api.baseUrl}/health/ready`)).status).toBe(200);
    await load.start();
    await sleep(3_000);

    // A replay is answered from the stored result, which lives in the cluster.
    const buyer = randomUUID();
    const wallet = (await (await fetch(`${api.baseUrl}/wallets`, { method: 'POST', headers: { 'x-user-id': buyer } })).json()) as { id: string };
    const key = randomUUID();
    const depositOnce = () =>
      fetch(`${api.baseUrl}/wallets/${wallet.id}/deposit`, {
        method: 'POST',
        headers: { 'x-user-id': buyer, 'idempotency-key': key, 'content-type': 'application/json' },
        body: JSON.stringify({ amount: 1_000 }),
      });
    const depositSentAt = Date.now();
    const first = await depositOnce();
    const replay = await depositOnce();
    expect([first.status, replay.status]).toEqual([201, 201]);
    const firstBody = (await first.json()) as { id: string };
    expect(await replay.json()).toEqual(firstBody);
    // Stored once: the books check below counts it with the load's operations.
    load.acknowledged.push({ operation: 'deposit', key, id: firstBody.id, amountCents: 1_000, sentAt: depositSentAt, at: Date.now() });

    // Reports and a manual reconciliation run go through BullMQ on the cluster.
    const reportIds: string[] = [];
    for (let index = 0; index < 5; index++) {
      const queued = await fetch(`${api.baseUrl}/reports/financial`, { method: 'POST', headers: admin, body: '{}' });
      expect(queued.status).toBe(202);
      reportIds.push(((await queued.json()) as { jobId: string }).jobId);
    }
    const run = await fetch(`${api.baseUrl}/admin/reconciliations`, { method: 'POST', headers: { 'x-user-id': ADMIN_USER_ID } });
    expect(run.status).toBe(202);
    const { runId } = (await run.json()) as { runId: string };
    for (const id of reportIds) expect((await waitForFinished(`/reports/financial/${id}`)).status).toBe('completed');

    // One caller over its budget is limited: the counter works across slots instead of failing open.
    const greedy = randomUUID();
    const burst = await Promise.all(
      Array.from({ length: RATE_LIMIT_PER_MINUTE + 50 }, () =>
        fetch(`${api.baseUrl}/wallets/${randomUUID()}`, { headers: { 'x-user-id': greedy } }).then((response) => response.status),
      ),
    );
    const limited = burst.filter((status) => status === 429).length;

    await load.stop();
    expect((await waitForFinished(`/admin/reconciliations/${runId}`)).status).toBe('completed');

    const keys = await cluster.keysByNode(`*${keyPrefix}*`);
    const nodesWith = (pattern: RegExp) => Object.entries(keys).filter(([, names]) => names.some((name) => pattern.test(name))).map(([node]) => node);
    process.stdout.write(
      `Redis Cluster: ${load.acknowledged.length} money operations acknowledged, ${reportIds.length} reports completed, ` +
        `${limited} of ${burst.length} burst requests limited; keys per node ${JSON.stringify(Object.fromEntries(Object.entries(keys).map(([node, names]) => [node, names.length])))}; ` +
        `answers ${JSON.stringify(load.summary())}\n`,
    );

    expect(limited).toBeGreaterThanOrEqual(50);
    // Idempotency results spread over the masters; every BullMQ key sits in the one hash-tagged slot.
    expect(nodesWith(/idem:\{/).length).toBeGreaterThan(1);
    expect(nodesWith(/\{[^}]*bull\}/)).toHaveLength(1);
    const clusterErrors = [...api.logs, ...worker.logs, ...api.rawOutput.map((msg) => ({ msg })), ...worker.rawOutput.map((msg) => ({ msg }))]
      .map((line) => JSON.stringify(line))
      .filter((line) => /CROSSSLOT|MOVED|rate limit store unavailable/.test(line));
    expect(clusterErrors).toEqual([]);
    expect(api.exitStatus).toBeUndefined();
    expect(worker.exitStatus).toBeUndefined();

    const sql = database.connect();
    try {
      await load.verify(sql);
    } finally {
      await sql.end({ timeout: 5 });
    }
  });
});
