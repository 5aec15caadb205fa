import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { dropStaleTestDatabases } from '../setup/test-database';
import { STALE_TEST_DATABASE_AGE_SECONDS, TEST_DATABASE_COMMENT, TEST_POSTGRES_URL } from '../setup/test-env';

/**
 * The suite shares its PostgreSQL server with other runs and other projects: its cleanup of
 * databases that interrupted runs left behind must drop those and nothing else.
 */
describe('stale test database cleanup', () => {
  const sql = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => undefined });
  const created: string[] = [];

  const createDatabase = async (name: string, comment: string | undefined) => {
    await sql.unsafe(`CREATE DATABASE "${name}"`);
    created.push(name);
    if (comment !== undefined) await sql.unsafe(`COMMENT ON DATABASE "${name}" IS '${comment}'`);
  };

  afterAll(async () => {
    for (const name of created) await sql.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await sql.end();
  });

  it("drops only this suite's databases older than the threshold", async () => {
    const now = Math.floor(Date.now() / 1000);
    const old = now - STALE_TEST_DATABASE_AGE_SECONDS - 60;
    const recent = now - 60;
    const suffix = () => randomBytes(4).toString('hex');
    const ours = `wallet_test_file_${old}_${suffix()}`;
    const anotherRun = `wallet_test_file_${recent}_${suffix()}`;
    const lookalike = `wallet_test_file_${old}_${suffix()}`;
    const otherPrefix = `wallet_other_file_${old}_${suffix()}`;
    await createDatabase(ours, TEST_DATABASE_COMMENT);
    await createDatabase(anotherRun, TEST_DATABASE_COMMENT);
    await createDatabase(lookalike, 'another project that happens to name its databases like ours');
    await createDatabase(otherPrefix, TEST_DATABASE_COMMENT);

    const dropped = await dropStaleTestDatabases(sql, now);

    expect(dropped).toContain(ours);
    const remaining = (await sql<{ datname: string }[]>`SELECT datname FROM pg_database WHERE datname = ANY(${created})`).map(
      ({ datname }) => datname,
    );
    expect(remaining.sort()).toEqual([anotherRun, lookalike, otherPrefix].sort());
  });
});
