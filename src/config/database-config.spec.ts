import { ConfigValidationError, loadConfig } from './app-config';

/** The problems `loadConfig` reports for `env`, or a failure if it accepts it. */
function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigValidationError) return [...error.problems];
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

describe('database configuration (ADR 0050, 0051, 0053)', () => {
  it('defaults: one direct pool, session mode, no replica', () => {
    expect(loadConfig({}).database).toEqual({
      url: 'postgres://postgres@127.0.0.1:5432/wallet',
      poolMax: 20,
      poolMode: 'session',
      directUrl: 'postgres://postgres@127.0.0.1:5432/wallet',
      readUrl: undefined,
      readReplicaMaxLagMs: 1_000,
    });
  });

  it('takes a multi-host URL with a port per host, PgBouncer with a direct URL, and a replica', () => {
    const config = loadConfig({
      DATABASE_URL: 'postgres://wallet:pw@pgbouncer:6432/wallet',
      DATABASE_POOL_MODE: 'transaction',
      DATABASE_DIRECT_URL: 'postgres://wallet:pw@10.0.0.1:5432,10.0.0.2:5432/wallet?target_session_attrs=read-write',
      DATABASE_READ_URL: 'postgres://wallet:pw@10.0.0.3:5432/wallet',
      READ_REPLICA_MAX_LAG_MS: '500',
    });
    expect(config.database).toMatchObject({
      poolMode: 'transaction',
      directUrl: 'postgres://wallet:pw@10.0.0.1:5432,10.0.0.2:5432/wallet?target_session_attrs=read-write',
      readUrl: 'postgres://wallet:pw@10.0.0.3:5432/wallet',
      readReplicaMaxLagMs: 500,
    });
  });

  it.each([
    ['a host list with a port written once', { DATABASE_URL: 'postgres://u@h1,h2:6432/wallet' }, /DATABASE_URL.*h1 has none/],
    ['a writing URL that asks for a standby', { DATABASE_URL: 'postgres://u@h1:1,h2:2/wallet?target_session_attrs=standby' }, /DATABASE_URL.*cannot take writes/],
    ['transaction pooling without a direct URL', { DATABASE_POOL_MODE: 'transaction' }, /DATABASE_DIRECT_URL.*required/],
    ['an unknown pool mode', { DATABASE_POOL_MODE: 'statement' }, /DATABASE_POOL_MODE/],
    ['a replica URL that is not one', { DATABASE_READ_URL: 'mysql://replica/wallet' }, /DATABASE_READ_URL/],
    ['a lag bound under 100 ms', { READ_REPLICA_MAX_LAG_MS: '50' }, /READ_REPLICA_MAX_LAG_MS/],
  ])('refuses %s, naming the variable', (_name, env, message) => {
    expect(problemsOf(env).join('\n')).toMatch(message);
  });
});
