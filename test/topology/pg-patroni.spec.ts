import postgres from 'postgres';
import { ServiceProcess } from '../faults/cluster';
import { MoneyLoad } from './money-load';
import { PatroniCluster } from './patroni';
import { removeDirectory, serverDirectory, sleep, topologyPort, waitFor } from './postgres-nodes';
import { deleteDrillKeys, drillKeyPrefix, SHARED_REDIS_URL } from './redis-nodes';

/**
 * Patroni (synchronous mode, one etcd node) behind HAProxy, which routes to the member whose
 * REST API answers GET /primary (ADR 0052). The service has one address, HAProxy's. Under a
 * bounded load retrying with the same keys: a planned switchover, then a crash of the new
 * leader (Patroni and PostgreSQL killed, as a machine dying). Nothing acknowledged is lost or
 * doubled, no answer is a 500 or hangs, the books are exact on the last leader; the outages are
 * printed (goal: 20 s for the crashed leader, which Patroni's ttl of 10 s dominates).
 */

const PLATFORM_USER_ID = '00000000-0000-4000-8000-00000000beef';
const RECOVERY_BOUND_MS = 90_000;

describe('Patroni behind HAProxy under load', () => {
  let root: string;
  let cluster: PatroniCluster;
  let api: ServiceProcess;
  const load = new MoneyLoad(() => api.baseUrl);
  const keyPrefix = drillKeyPrefix();

  beforeAll(async () => {
    root = await serverDirectory('wallet-topology-patroni-');
    cluster = await PatroniCluster.start(root);
    api = new ServiceProcess('api', 'api', await topologyPort(), {
      DATABASE_URL: cluster.url,
      DATABASE_POOL_MAX: '8',
      REDIS_URL: SHARED_REDIS_URL,
      REDIS_KEY_PREFIX: keyPrefix,
      PLATFORM_ACCOUNT_ID: PLATFORM_USER_ID,
      LOG_LEVEL: 'warn',
      NODE_ENV: 'test',
      SHUTDOWN_TIMEOUT_MS: '5000',
    });
    await api.start().catch((error: Error) => {
      throw new Error(`${error.message}; the service said: ${api.rawOutput.join('\n').slice(-3_000)}`);
    });
  }, 600_000);

  afterAll(async () => {
    await load.stop().catch(() => undefined);
    await api?.kill('SIGKILL');
    await cluster?.stop();
    await deleteDrillKeys(keyPrefix);
    removeDirectory(root);
  });

  it('loses and doubles nothing through a switchover and a crashed leader, answering 503 (never 500) meanwhile', async () => {
    await load.start();
    await sleep(3_000);
    const first = (await cluster.leader())!;
    const second = cluster.members.find((member) => member !== first)!;

    // (a) Planned switchover to the synchronous standby; the old leader follows it.
    load.phase = 'switchover';
    const switchedAt = Date.now();
    await cluster.switchover(first, second);
    await cluster.waitForLeader(first, RECOVERY_BOUND_MS);
    await load.outageFrom(Date.now(), RECOVERY_BOUND_MS);
    load.phase = 'after-switchover';
    await waitFor('the old leader a synchronous standby again', () => first.isSynchronousStandby(), RECOVERY_BOUND_MS);
    await sleep(2_000);
    const switchoverOutageMs = load.longestPause(switchedAt, Date.now());

    // (b) The new leader's machine dies; once its leader key expires the standby takes over.
    load.phase = 'leader-crash';
    const crashedAt = Date.now();
    await cluster.crash(second);
    const survivor = await cluster.waitForLeader(second, RECOVERY_BOUND_MS);
    await load.outageFrom(Date.now(), RECOVERY_BOUND_MS);
    load.phase = 'after-crash';
    await sleep(3_000);
    const crashOutageMs = load.longestPause(crashedAt, Date.now());
    const acknowledgedAfterCrash = load.acknowledgedSince(crashedAt);
    await load.stop();

    process.stdout.write(
      `Patroni behind HAProxy: ${load.acknowledged.length} operations acknowledged; writes stopped ${switchoverOutageMs} ms ` +
        `at the switchover (longest pause between two acknowledgements), ${crashOutageMs} ms when the leader crashed (goal 20000 ms, ttl 10 s); ` +
        `answers by phase ${JSON.stringify(load.summary())}\n`,
    );
    expect(survivor).toBe(first);
    expect(acknowledgedAfterCrash).toBeGreaterThan(0);
    expect(api.exitStatus).toBeUndefined();
    const sql = postgres(`postgres://postgres@127.0.0.1:${survivor.pgPort}/wallet`, { max: 2, onnotice: () => undefined });
    try {
      await load.verify(sql);
    } finally {
      await sql.end({ timeout: 5 });
    }
  });
});
