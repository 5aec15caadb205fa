import { randomBytes } from 'node:crypto';
import { ServiceProcess } from '../faults/cluster';
import { MoneyLoad } from './money-load';
import { sleep, topologyPort, waitFor } from './postgres-nodes';
import { ScratchDatabase, SentinelTopology } from './redis-nodes';

/**
 * Redis behind Sentinel (ADR 0055, 0057). A master, a replica and three Sentinels; an API and a
 * worker process find the master through the Sentinels. Under a purchase/deposit/withdrawal load
 * that retries with the same keys, and a stream of report requests, (a) an operator's
 * SENTINEL FAILOVER and (b) a crash of the master that the Sentinels detect and fail over.
 * Before the crash the worker is stopped, the replica is frozen for a moment and its link cut,
 * and 30 reports are queued, so that the replica promoted in the master's place lacks their
 * jobs, as an asynchronous replica may; a new worker then starts. Afterwards: no acknowledged operation lost or doubled and the books exact; every
 * report that was accepted (202) is completed, none left queued, and every job the new master
 * lacked was found and re-queued by the sweep (ADR 0057); a report refused during the failover
 * got a clear 503; readiness said Redis was down while it was, and is ready again at the end.
 */

const PLATFORM_USER_ID = '00000000-0000-4000-8000-00000000beef';
const ADMIN_USER_ID = '00000000-0000-4000-8000-00000000ad01';
/** Bounds on recovery, so that a stuck failover fails the test instead of hanging it; never asserted as timings. */
const RECOVERY_BOUND_MS = 60_000;
const REQUEST_TIMEOUT_MS = 10_000;

interface Answer {
  phase: string;
  sentAt: number;
  at: number;
  status: number | 'timeout' | 'network';
  body?: { code?: string; checks?: Record<string, string>; jobId?: string };
}

/** How many of `answers` got each status. */
function countByStatus(answers: readonly Answer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const answer of answers) counts[String(answer.status)] = (counts[String(answer.status)] ?? 0) + 1;
  return counts;
}

/** Repeats one GET or POST in the background, recording every answer with its phase. */
class Poller {
  phase = 'startup';
  readonly answers: Answer[] = [];
  private stopping = false;
  private running: Promise<void> | undefined;

  constructor(
    private readonly request: () => Promise<Response>,
    private readonly pauseMs: number,
  ) {}

  start(): void {
    this.running = (async () => {
      while (!this.stopping) {
        const sentAt = Date.now();
        try {
          const response = await this.request();
          const text = await response.text();
          this.answers.push({ phase: this.phase, sentAt, at: Date.now(), status: response.status, body: text.startsWith('{') ? JSON.parse(text) : undefined });
        } catch (error) {
          this.answers.push({ phase: this.phase, sentAt, at: Date.now(), status: (error as Error).name === 'TimeoutError' ? 'timeout' : 'network' });
        }
        await sleep(this.pauseMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
  }

  byPhase(): Record<string, Record<string, number>> {
    const phases = [...new Set(this.answers.map((answer) => answer.phase))];
    return Object.fromEntries(phases.map((phase) => [phase, countByStatus(this.answers.filter((answer) => answer.phase === phase))]));
  }

  /**
   * Time from `since` until the first answer with `status` sent after it. A timeout names the
   * answers sent after `since` and the last of them, and `context` adds what the caller knows.
   */
  async firstAfter(since: number, status: number, timeoutMs: number, context: () => string = () => ''): Promise<number> {
    try {
      await waitFor(`an answer ${status} after the fault`, async () => this.answers.some((a) => a.sentAt > since && a.status === status), timeoutMs);
    } catch (error) {
      const after = this.answers.filter((a) => a.sentAt > since);
      const last = after.at(-1);
      throw new Error(
        `${(error as Error).message}; answers sent since: ${JSON.stringify(countByStatus(after))}, the last: ${JSON.stringify(last?.body ?? last?.status ?? null)}${context()}`,
      );
    }
    return this.answers.find((a) => a.sentAt > since && a.status === status)!.at - since;
  }
}

describe('Redis Sentinel failover under load', () => {
  let topology: SentinelTopology;
  const database = new ScratchDatabase();
  let api: ServiceProcess;
  let worker: ServiceProcess;
  let workerEnv: Record<string, string>;
  const retiredWorkers: ServiceProcess[] = [];
  const load = new MoneyLoad(() => api.baseUrl);
  let reports: Poller;
  let readiness: Poller;

  beforeAll(async () => {
    topology = await SentinelTopology.start();
    const env = {
      DATABASE_URL: database.url,
      DATABASE_POOL_MAX: '8',
      // With Sentinels the address comes from them; REDIS_URL gives only credentials and database.
      REDIS_URL: 'redis://unused.invalid:6379/0',
      REDIS_SENTINELS: topology.sentinelList,
      REDIS_SENTINEL_NAME: topology.masterName,
      REDIS_KEY_PREFIX: `topology:${randomBytes(4).toString('hex')}:`,
      PLATFORM_ACCOUNT_ID: PLATFORM_USER_ID,
      ADMIN_USER_IDS: ADMIN_USER_ID,
      NODE_ENV: 'test',
      SHUTDOWN_TIMEOUT_MS: '5000',
      JOB_SWEEP_INTERVAL_MS: '1000',
    };
    api = new ServiceProcess('api', 'api', await topologyPort(), { ...env, LOG_LEVEL: 'warn' });
    await api.start();
    workerEnv = { ...env, LOG_LEVEL: 'info' };
    worker = new ServiceProcess('worker', 'worker', await topologyPort(), workerEnv);
    await worker.start();
    reports = new Poller(
      () =>
        fetch(`${api.baseUrl}/reports/financial`, {
          method: 'POST',
          headers: { 'x-user-id': ADMIN_USER_ID, 'content-type': 'application/json' },
          body: '{}',
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        }),
      250,
    );
    readiness = new Poller(() => fetch(`${api.baseUrl}/health/ready`, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }), 100);
  }, 180_000);

  afterAll(async () => {
    await load.stop().catch(() => undefined);
    await reports?.stop();
    await readiness?.stop();
    await api?.kill('SIGKILL');
    await worker?.kill('SIGKILL');
    for (const retired of retiredWorkers) await retired.kill('SIGKILL');
    await topology?.stop();
    await database.drop();
  });

  function setPhase(phase: string): void {
    load.phase = phase;
    reports.phase = phase;
    readiness.phase = phase;
  }

  it('loses no money and no report through an operator failover and a crashed master, and readiness tells the truth', async () => {
    // What the API said last, for a recovery bound that is missed.
    const apiTail = () =>
      `; the API's last log lines: ${[...api.logs.slice(-10).map((line) => JSON.stringify(line)), ...api.rawOutput.slice(-5)].join('\n').slice(-3_000)}`;
    await load.start();
    reports.start();
    readiness.start();
    setPhase('steady');
    await sleep(3_000);

    // (a) An operator's failover: the master is demoted and the replica promoted.
    setPhase('sentinel-failover');
    const firstMaster = await topology.masterPort();
    const failoverAt = Date.now();
    await topology.sentinels[0]!.cli(['SENTINEL', 'FAILOVER', topology.masterName]);
    await waitFor('the Sentinels naming a new master', async () => (await topology.masterPort()) !== firstMaster, RECOVERY_BOUND_MS);
    const failoverReportMs = await reports.firstAfter(failoverAt, 202, RECOVERY_BOUND_MS, apiTail);
    await waitFor('the demoted master following the new one', () => topology.settled(), RECOVERY_BOUND_MS);
    setPhase('after-failover');
    await sleep(2_000);

    // (b) The master crashes with writes its replica never received; the Sentinels notice after
    // down-after-milliseconds and promote the replica.
    setPhase('master-crash');
    const crashedMaster = await topology.masterPort();
    await worker.kill('SIGTERM');
    retiredWorkers.push(worker);
    // Frozen, the replica cannot reconnect and catch up before the crash; it is back well within
    // down-after-milliseconds, so the Sentinels still consider it for promotion.
    const replica = topology.servers.find((server) => server.port !== crashedMaster)!;
    replica.freeze(true);
    await topology.server(crashedMaster).cli(['CLIENT', 'KILL', 'TYPE', 'replica']);
    const unreplicated: string[] = [];
    for (let index = 0; index < 30; index++) {
      const queued = await fetch(`${api.baseUrl}/reports/financial`, { method: 'POST', headers: { 'x-user-id': ADMIN_USER_ID, 'content-type': 'application/json' }, body: '{}' });
      expect(queued.status).toBe(202);
      unreplicated.push(((await queued.json()) as { jobId: string }).jobId);
    }
    const crashedAt = Date.now();
    await topology.server(crashedMaster).crash();
    replica.freeze(false);
    await waitFor('the Sentinels promoting the replica', async () => (await topology.masterPort()) !== crashedMaster, RECOVERY_BOUND_MS);
    const promotedAt = Date.now();
    const newMaster = topology.server(await topology.masterPort());
    const jobKey = (id: string) => `${workerEnv.REDIS_KEY_PREFIX}bull:reports:${id}`;
    const lost = [];
    for (const id of unreplicated) if ((await newMaster.cli(['EXISTS', jobKey(id)])).trim() === '0') lost.push(id);
    const crashReportMs = await reports.firstAfter(crashedAt, 202, RECOVERY_BOUND_MS, apiTail);
    const readyAgainMs = await readiness.firstAfter(promotedAt, 200, RECOVERY_BOUND_MS, apiTail);
    // The crashed server comes back empty; the Sentinels make it a replica of the new master.
    await topology.server(crashedMaster).start();
    await waitFor('the restarted server following the new master', () => topology.settled(), RECOVERY_BOUND_MS);
    worker = new ServiceProcess('worker-2', 'worker', await topologyPort(), workerEnv);
    await worker.start();
    setPhase('after-crash');
    await sleep(3_000);

    await Promise.all([load.stop(), reports.stop(), readiness.stop()]);

    // Every report the API accepted is completed: none stays queued, whatever Redis lost.
    const accepted = [...reports.answers.filter((a) => a.status === 202).map((a) => a.body!.jobId!), ...unreplicated];
    const statusOf = async (id: string) =>
      (await (await fetch(`${api.baseUrl}/reports/financial/${id}`, { headers: { 'x-user-id': ADMIN_USER_ID } })).json()) as { status: string };
    await waitFor(
      `all ${accepted.length} accepted reports finished`,
      async () => (await Promise.all(accepted.map(statusOf))).every((report) => report.status === 'completed' || report.status === 'failed'),
      RECOVERY_BOUND_MS,
    );
    const finished = await Promise.all(accepted.map(async (id) => ({ id, ...(await statusOf(id)) })));
    const requeueLines = worker.logs.filter((line) => line.msg === 'report jobs lost in Redis; queued again');
    const requeued = new Set(requeueLines.flatMap((line) => line.reportIds as string[]));

    const readinessDown = readiness.answers.filter((a) => a.status === 503);
    process.stdout.write(
      `Redis Sentinel: ${load.acknowledged.length} money operations acknowledged, ${accepted.length} reports accepted; ` +
        `first report accepted ${failoverReportMs} ms after SENTINEL FAILOVER and ${crashReportMs} ms after the master crashed ` +
        `(down-after-milliseconds 1000); readiness 200 again ${readyAgainMs} ms after the Sentinels named the new master; ` +
        `${lost.length} of ${unreplicated.length} reports queued just before the crash had no job on the new master, ` +
        `${requeued.size} report jobs re-queued by the sweep; money answers ${JSON.stringify(load.summary())}; ` +
        `report answers ${JSON.stringify(reports.byPhase())}; readiness ${JSON.stringify(readiness.byPhase())}\n`,
    );

    expect(finished.filter((report) => report.status !== 'completed')).toEqual([]);
    expect(lost.filter((id) => !requeued.has(id))).toEqual([]);
    // A refused report is a clear 503 naming the queue, never a 500 or a hang.
    expect(reports.answers.filter((a) => a.status !== 202 && !(a.status === 503 && a.body?.code === 'REPORT_QUEUE_UNAVAILABLE'))).toEqual([]);
    // Readiness saw Redis down while the master was gone, blamed only Redis, and is ready at the end.
    expect(readinessDown.some((a) => a.phase === 'master-crash' && a.body?.checks?.redis === 'down')).toBe(true);
    expect(readinessDown.filter((a) => a.body?.checks?.postgres !== 'up')).toEqual([]);
    expect(readiness.answers.filter((a) => a.status !== 200 && a.status !== 503)).toEqual([]);
    expect((await fetch(`${api.baseUrl}/health/ready`)).status).toBe(200);
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
