import postgres from 'postgres';
import { ServiceProcess } from '../faults/cluster';
import { MoneyLoad } from './money-load';
import { PostgresNode, removeDirectory, serverDirectory, sleep, topologyPort, waitFor } from './postgres-nodes';
import { deleteDrillKeys, drillKeyPrefix, SHARED_REDIS_URL } from './redis-nodes';

/**
 * PostgreSQL failover with nothing lost (ADR 0050). A private primary and a synchronous standby
 * (pg_basebackup), the built service on a multi-host DATABASE_URL naming both, and a bounded
 * purchase/deposit/withdrawal load that retries with the same keys. (a) The primary crashes and
 * the standby is promoted; (b) the old primary is rewound (pg_rewind) and restarts as a
 * synchronous standby of the new one, and the service's connections are cut so that they
 * reconnect with the old primary, now a standby, first in the host list. Afterwards every
 * acknowledged operation is on the new primary exactly once, the books are exact, no answer was
 * a 500 or hung, and the outages are printed.
 */

const PLATFORM_USER_ID = '00000000-0000-4000-8000-00000000beef';
/** Bounds on recovery; the goal for a promotion is 5 s, printed, never asserted as a timing. */
const RECOVERY_BOUND_MS = 60_000;

describe('PostgreSQL failover under load', () => {
  let root: string;
  let first: PostgresNode;
  let second: PostgresNode;
  let api: ServiceProcess;
  const load = new MoneyLoad(() => api.baseUrl);
  const keyPrefix = drillKeyPrefix();

  beforeAll(async () => {
    root = await serverDirectory('wallet-topology-pg-');
    first = await PostgresNode.initPrimary(root, 'node1');
    second = await PostgresNode.cloneFrom(first, 'node2');
    await first.requireSynchronousStandby();
    await waitFor('node2 streaming synchronously', async () => (await first.synchronousStandbys()).includes('node2'), 30_000);
    api = new ServiceProcess('api', 'api', await topologyPort(), {
      // Both servers, each with its port; the service keeps to whichever is the primary.
      DATABASE_URL: `postgres://postgres@127.0.0.1:${first.port},127.0.0.1:${second.port}/wallet`,
      DATABASE_POOL_MAX: '8',
      REDIS_URL: SHARED_REDIS_URL,
      REDIS_KEY_PREFIX: keyPrefix,
      PLATFORM_ACCOUNT_ID: PLATFORM_USER_ID,
      LOG_LEVEL: 'warn',
      NODE_ENV: 'test',
      SHUTDOWN_TIMEOUT_MS: '5000',
    });
    await api.start().catch((error: Error) => {
      throw new Error(`${error.message}; the service said: ${[...api.rawOutput, ...api.logs.map((line) => JSON.stringify(line))].join('\n').slice(-3_000)}`);
    });
  }, 180_000);

  afterAll(async () => {
    await load.stop().catch(() => undefined);
    await api?.kill('SIGKILL');
    await first?.stop();
    await second?.stop();
    await deleteDrillKeys(keyPrefix);
    removeDirectory(root);
  });

  it('loses no acknowledged operation, duplicates none, and answers 503 (never 500) through a promotion and the old primary rejoining', async () => {
    await load.start();
    await sleep(3_000);
    expect(load.acknowledged.length).toBeGreaterThan(0);

    // (a) The primary crashes; the synchronous standby is promoted at once.
    load.phase = 'promotion';
    const crashedAt = Date.now();
    await first.crash();
    await second.promote();
    await load.outageFrom(crashedAt, RECOVERY_BOUND_MS);
    load.phase = 'after-promotion';
    await sleep(3_000);
    const promotionOutageMs = load.longestPause(crashedAt, Date.now());

    // (b) The old primary is rewound and follows the new one, synchronously again. Then every
    // connection of the service is cut: reconnecting, it meets the old primary first in its host
    // list, now a standby that reports default_transaction_read_only = off, and must pass it by.
    load.phase = 'old-primary-rejoins';
    const rejoin = await first.rejoinAsStandbyOf(second);
    await second.requireSynchronousStandby();
    await waitFor('node1 streaming synchronously from node2', async () => (await second.synchronousStandbys()).includes('node1'), 30_000);
    load.phase = 'connections-cut';
    const cutAt = Date.now();
    await second.withAdmin((sql) => sql`
      SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'wallet-%'`);
    await load.outageFrom(cutAt, RECOVERY_BOUND_MS);
    load.phase = 'after-rejoin';
    await sleep(3_000);
    const reconnectOutageMs = load.longestPause(cutAt, Date.now());
    const acknowledgedAfterRejoin = load.acknowledgedSince(cutAt);
    await load.stop();

    const summary = load.summary();
    process.stdout.write(
      `PostgreSQL failover: ${load.acknowledged.length} operations acknowledged; ` +
        `writes stopped ${promotionOutageMs} ms at the crash and promotion (longest pause between two acknowledgements; goal 5000 ms), ` +
        `${reconnectOutageMs} ms when every connection was cut with the old primary back as a standby; ` +
        `${rejoin.how} and restart took ${rejoin.ms} ms; answers by phase ${JSON.stringify(summary)}\n`,
    );
    // The service writes on the new primary after the old one came back as a standby.
    expect(acknowledgedAfterRejoin).toBeGreaterThan(0);
    expect(api.exitStatus).toBeUndefined();

    const sql = postgres(second.url, { max: 2, onnotice: () => undefined });
    try {
      await load.verify(sql);
    } finally {
      await sql.end({ timeout: 5 });
    }
    // The rejoined standby has every acknowledged purchase too, once it has replayed what it flushed.
    const purchases = load.acknowledged.filter((ack) => ack.operation === 'purchase').length;
    await waitFor(
      'node1 replaying every purchase',
      () => first.withAdmin(async (sql) => (await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM purchases`)[0]!.n === purchases, 'wallet'),
      30_000,
    );
  });
});
