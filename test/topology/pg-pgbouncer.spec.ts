import { Logger } from '@nestjs/common';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import postgres, { Sql } from 'postgres';
import { createSessionSqlClient, createSqlClient, Database } from '../../src/db/database';
import { prepareDatabase } from '../../src/db/migrate';
import { ReconciliationRepository } from '../../src/reconciliation/reconciliation.repository';
import { PgBouncer } from './pgbouncer';
import { removeDirectory, serverDirectory } from './postgres-nodes';

const run = promisify(execFile);

/**
 * PgBouncer in transaction mode (ADR 0051), in front of the shared PostgreSQL (only connecting to
 * it; databases of this file's own). The pool sends no startup parameter PgBouncer refuses,
 * keeps its statement timeouts (the role's defaults in the database), uses no named prepared
 * statements, and takes session advisory locks on a direct session; then the money e2e cases
 * run with every app's pool through PgBouncer.
 */

const SERVER = { host: '127.0.0.1', port: 5432 };
/** The e2e cases that move money (the run lock is tested above, on its own). */
const MONEY_E2E = ['test/e2e/wallets.e2e.spec.ts', 'test/e2e/purchases.e2e.spec.ts', 'test/e2e/refunds.e2e.spec.ts'];
/** The child run is bounded below the test's own timeout, so that its output is reported. */
const E2E_TIMEOUT_MS = 540_000;
const silent = Object.assign(new Logger('PgBouncerSpec'), { log: () => undefined });

describe('PgBouncer in transaction mode', () => {
  let dir: string;
  let bouncer: PgBouncer;
  const name = `wallet_topology_pgb_${randomBytes(4).toString('hex')}`;
  const directUrl = `postgres://postgres@${SERVER.host}:${SERVER.port}/${name}`;
  const opened: Sql[] = [];

  beforeAll(async () => {
    dir = await serverDirectory('wallet-topology-pgbouncer-');
    bouncer = await PgBouncer.start(dir, SERVER);
    // What the service's start does in transaction mode: migrate directly, set the session defaults.
    await prepareDatabase(directUrl, silent, { poolMode: 'transaction' });
  }, 120_000);

  afterAll(async () => {
    for (const sql of opened) await sql.end({ timeout: 2 }).catch(() => undefined);
    await bouncer?.stop();
    const admin = postgres(`postgres://postgres@${SERVER.host}:${SERVER.port}/postgres`, { max: 1, onnotice: () => undefined });
    await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => undefined);
    await admin.end();
    removeDirectory(dir);
  });

  function pool(poolMode: 'session' | 'transaction', poolMax = 8): Sql {
    const sql = createSqlClient({ url: bouncer.url(name), poolMax, applicationName: 'wallet-topology', poolMode });
    opened.push(sql);
    return sql;
  }

  it('refuses the session-mode pool, whose timeouts are startup parameters (08P01): the trap the transaction mode avoids', async () => {
    await expect(pool('session', 1)`SELECT 1`).rejects.toMatchObject({ code: '08P01' });
  });

  it('keeps the statement and idle-in-transaction timeouts in force without startup parameters', async () => {
    const sql = pool('transaction', 2);
    const [settings] = await sql<{ statement_timeout: string; idle: string }[]>`
      SELECT current_setting('statement_timeout') AS statement_timeout,
             current_setting('idle_in_transaction_session_timeout') AS idle`;
    expect(settings).toEqual({ statement_timeout: '15s', idle: '30s' });
  });

  it('runs many parameterised queries and transactions at once without named prepared statements (no 26000)', async () => {
    const sql = pool('transaction', 8);
    const results = await Promise.all(
      Array.from({ length: 400 }, (_, i) =>
        i % 4 === 0
          ? sql.begin(async (tx) => (await tx<{ n: number }[]>`SELECT ${i}::int AS n`)[0]!.n)
          : sql<{ n: number }[]>`SELECT ${i}::int + ${1}::int - 1 AS n`.then((rows) => rows[0]!.n),
      ),
    );
    expect(results).toEqual(Array.from({ length: 400 }, (_, i) => i));
  });

  it('takes the reconciliation run lock on a direct session: held, exclusive, and gone from every pooled connection after', async () => {
    const pooled = pool('transaction', 4);
    const sessions = [createSessionSqlClient(directUrl, 'wallet-topology-session'), createSessionSqlClient(directUrl, 'wallet-topology-session')];
    opened.push(...sessions);
    const first = new ReconciliationRepository(new Database(pooled, undefined, sessions[0]));
    const second = new ReconciliationRepository(new Database(pooled, undefined, sessions[1]));
    const outcome = await first.withRunLock(async () => {
      const [held] = await pooled<{ application_name: string }[]>`
        SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
         WHERE l.locktype = 'advisory' AND a.datname = current_database()`;
      const rival = await second.withRunLock(async () => 'ran');
      return { holder: held?.application_name, rival };
    });
    expect(outcome).toEqual({ acquired: true, value: { holder: 'wallet-topology-session', rival: { acquired: false } } });
    const [left] = await pooled<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
       WHERE l.locktype = 'advisory' AND a.datname = current_database()`;
    expect(left!.n).toBe(0);
  });

  it('passes the money e2e cases with every app pool through PgBouncer', async () => {
    const jest = resolve(__dirname, '../../node_modules/.bin/jest');
    // The cases where Redis goes away test Redis, not the pool, and stop a private Redis of their own.
    const args = ['--selectProjects', 'e2e', '--runInBand', '--forceExit', '--testNamePattern', '^(?!.*Redis goes away)', ...MONEY_E2E];
    const outcome = await run(jest, args, {
      cwd: resolve(__dirname, '../..'),
      env: { ...process.env, TEST_PGBOUNCER_PORT: String(bouncer.port) },
      timeout: E2E_TIMEOUT_MS,
      maxBuffer: 64 * 1024 * 1024,
    }).then(
      ({ stderr }) => ({ ok: true, output: stderr }),
      (error: { stderr?: string; message: string }) => ({ ok: false, output: error.stderr ?? error.message }),
    );
    const summary = outcome.output.split('\n').filter((line) => /^(Tests|Test Suites):/.test(line));
    process.stdout.write(`money e2e cases through PgBouncer (transaction mode): ${summary.join('; ')}\n`);
    if (!outcome.ok) throw new Error(`the money e2e cases failed through PgBouncer:\n${outcome.output.slice(-6_000)}`);
  }, 600_000);
});
