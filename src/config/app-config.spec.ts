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

describe('loadConfig', () => {
  it('fills every default from an empty environment', () => {
    const config = loadConfig({});
    // The variables every deployment relies on; newer ones carry their own defaults.
    expect(config).toMatchObject({
      nodeEnv: 'development',
      http: { port: 3000, host: '0.0.0.0', shutdownTimeoutMs: 10_000, workers: 1 },
      database: { url: 'postgres://postgres@127.0.0.1:5432/wallet', poolMax: 20 },
      redis: { url: 'redis://127.0.0.1:6379', keyPrefix: 'wallet:' },
      auth: { mode: 'header', jwtSecret: undefined, jwtPublicKey: undefined, adminUserIds: [] },
      platformAccountId: '00000000-0000-4000-8000-000000000001',
      authorRoyaltyPercent: 70,
      swaggerEnabled: true,
      role: 'all',
      logLevel: 'info',
      reconciliation: { everyMs: 600_000, fixBalances: false },
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ PORT: '', AUTH_MODE: '', ADMIN_USER_IDS: '' }).http.port).toBe(3000);
  });

  it('parses typed values', () => {
    const admin1 = '3b241101-e2bb-4255-8caf-4136c566a962';
    const admin2 = '6f9619ff-8b86-4d01-b42d-00c04fc964ff';
    const config = loadConfig({
      NODE_ENV: 'production',
      PORT: '8080',
      AUTH_MODE: 'jwt',
      JWT_SECRET: 'x'.repeat(32),
      JWT_ISSUER: 'https://id.example.com/',
      JWT_AUDIENCE: 'wallet-service',
      ADMIN_USER_IDS: ` ${admin1}, ${admin2} ,`,
      AUTHOR_ROYALTY_PERCENT: '0',
      SWAGGER_ENABLED: 'false',
      APP_ROLE: 'worker',
      RECONCILE_EVERY: '30s',
      RECONCILE_FIX_BALANCES: '1',
      REDIS_URL: 'rediss://cache.internal:6380/2',
    });
    expect(config.http.port).toBe(8080);
    expect(config.auth).toEqual({
      mode: 'jwt',
      jwtSecret: 'x'.repeat(32),
      jwtPublicKey: undefined,
      jwtIssuer: 'https://id.example.com/',
      jwtAudience: 'wallet-service',
      adminUserIds: [admin1, admin2],
    });
    expect(config.authorRoyaltyPercent).toBe(0);
    expect(config.swaggerEnabled).toBe(false);
    expect(config.role).toBe('worker');
    expect(config.reconciliation).toEqual({ everyMs: 30_000, fixBalances: true, incremental: true, sweepPeriodMs: 86_400_000 });
    expect(config.redis.url).toBe('rediss://cache.internal:6380/2');
  });

  it.each([
    ['10m', 600_000],
    ['1h', 3_600_000],
    ['1000', 1_000],
    ['1500ms', 1_500],
  ])('reads RECONCILE_EVERY=%s as %d ms', (value, everyMs) => {
    expect(loadConfig({ RECONCILE_EVERY: value }).reconciliation.everyMs).toBe(everyMs);
  });

  it.each([
    ['PORT', 'abc'],
    ['PORT', '0'],
    ['PORT', '65536'],
    ['PORT', '80.5'],
    ['AUTHOR_ROYALTY_PERCENT', '101'],
    ['AUTHOR_ROYALTY_PERCENT', '-1'],
    ['ADMIN_USER_IDS', 'not-a-uuid'],
    ['ADMIN_USER_IDS', '3b241101-e2bb-4255-8caf-4136c566a962,nope'],
    ['PLATFORM_ACCOUNT_ID', 'platform'],
    ['REDIS_URL', 'http://x'],
    ['DATABASE_URL', 'mysql://root@localhost/wallet'],
    ['DATABASE_POOL_MAX', '0'],
    ['REDIS_KEY_PREFIX', 'has spaces'],
    ['APP_ROLE', 'x'],
    ['AUTH_MODE', 'basic'],
    ['NODE_ENV', 'staging'],
    ['LOG_LEVEL', 'verbose'],
    ['SWAGGER_ENABLED', 'yes'],
    ['RECONCILE_EVERY', '5'],
    ['RECONCILE_EVERY', '999ms'],
    ['RECONCILE_EVERY', 'soon'],
    ['RECONCILE_EVERY', '8d'],
    ['SHUTDOWN_TIMEOUT_MS', '10'],
    ['HTTP_WORKERS', '0'],
    ['HTTP_WORKERS', '17'],
    ['PURCHASE_LANES', '0'],
    ['PURCHASE_BATCH_SIZE_MAX', '501'],
    ['IDEMPOTENCY_MEMORY_RESULTS', '-1'],
    ['V8_HEAP_GROWING_PERCENT', '-1'],
    ['V8_HEAP_GROWING_PERCENT', '301'],
    ['JWT_SECRET', 'too-short'],
    ['JWT_PUBLIC_KEY', 'not a key'],
    ['JWT_ISSUER', 'x'.repeat(257)],
    ['HTTP_HEADERS_TIMEOUT_MS', '999'],
    ['HTTP_REQUEST_TIMEOUT_MS', '300001'],
    ['TRUST_PROXY', 'yes'],
    ['TRUST_PROXY', '100'],
    ['TRUST_PROXY', '10.0.0.0/8, evil host'],
    ['RATE_LIMIT_ANONYMOUS_PER_MINUTE', '-1'],
  ])('refuses %s=%j and names the variable', (name, value) => {
    const problems = problemsOf({ [name]: value });
    expect(problems).toHaveLength(1);
    // A list variable names the offending entry too: `ADMIN_USER_IDS.1: Invalid uuid`.
    expect(problems[0]).toMatch(new RegExp(`^${name}(\\.\\d+)?: `));
  });

  it.each([
    [undefined, false],
    ['false', false],
    ['0', false],
    ['true', true],
    ['2', 2],
    ['loopback', ['loopback']],
    [' 10.0.0.0/8 , 192.168.1.7, ::1, fd00::/8 ', ['10.0.0.0/8', '192.168.1.7', '::1', 'fd00::/8']],
  ])('reads TRUST_PROXY=%j as %j', (value, trustProxy) => {
    expect(loadConfig({ TRUST_PROXY: value }).http.trustProxy).toEqual(trustProxy);
  });

  it('has slow-client timeouts and an anonymous budget by default, and keeps the header timeout within the request timeout', () => {
    const config = loadConfig({});
    expect(config.http).toMatchObject({ headersTimeoutMs: 10_000, requestTimeoutMs: 15_000 });
    expect(config.rateLimit.anonymousPerMinute).toBe(120);
    expect(problemsOf({ HTTP_HEADERS_TIMEOUT_MS: '20000', HTTP_REQUEST_TIMEOUT_MS: '15000' })).toEqual([
      expect.stringMatching(/^HTTP_HEADERS_TIMEOUT_MS: .*HTTP_REQUEST_TIMEOUT_MS/),
    ]);
  });

  it('reports every bad variable at once, in the error message too', () => {
    let thrown: unknown;
    try {
      loadConfig({ PORT: 'abc', AUTHOR_ROYALTY_PERCENT: '101', APP_ROLE: 'x', REDIS_URL: 'http://x' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigValidationError);
    const { problems, message } = thrown as ConfigValidationError;
    expect(problems.map((problem) => problem.split(':')[0]).sort()).toEqual([
      'APP_ROLE',
      'AUTHOR_ROYALTY_PERCENT',
      'PORT',
      'REDIS_URL',
    ]);
    for (const name of ['PORT', 'AUTHOR_ROYALTY_PERCENT', 'APP_ROLE', 'REDIS_URL']) expect(message).toContain(name);
  });

  it('refuses NODE_ENV=production without an explicit AUTH_MODE', () => {
    const problems = problemsOf({ NODE_ENV: 'production' });
    expect(problems).toEqual([expect.stringMatching(/^AUTH_MODE: .*production/)]);
    expect(loadConfig({ NODE_ENV: 'production', AUTH_MODE: 'header' }).auth.mode).toBe('header');
  });

  it('refuses AUTH_MODE=jwt without JWT_SECRET or JWT_PUBLIC_KEY', () => {
    expect(problemsOf({ AUTH_MODE: 'jwt' })).toEqual([expect.stringMatching(/^JWT_SECRET: /)]);
    const publicKey = '-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----';
    expect(loadConfig({ AUTH_MODE: 'jwt', JWT_PUBLIC_KEY: publicKey }).auth.jwtPublicKey).toBe(publicKey);
  });

  it('ignores variables it does not know', () => {
    expect(() => loadConfig({ HOME: '/root', PATH: '/usr/bin', npm_config_cache: 'x' })).not.toThrow();
  });
});

describe('loadConfig: logging, metrics and tracing variables', () => {
  it('defaults to an automatic log format, a public /metrics and no tracing', () => {
    expect(loadConfig({})).toMatchObject({
      logFormat: 'auto',
      metricsToken: undefined,
      tracing: { endpoint: undefined, serviceName: 'wallet-service', sampleRatio: 1 },
    });
  });

  it('takes LOG_FORMAT, METRICS_TOKEN and the OTLP endpoint (without a trailing slash)', () => {
    expect(
      loadConfig({
        LOG_FORMAT: 'pretty',
        METRICS_TOKEN: 'a-long-enough-token',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
        OTEL_SERVICE_NAME: 'wallet-eu',
        OTEL_TRACES_SAMPLE_RATIO: '0.25',
      }),
    ).toMatchObject({
      logFormat: 'pretty',
      metricsToken: 'a-long-enough-token',
      tracing: { endpoint: 'http://collector:4318', serviceName: 'wallet-eu', sampleRatio: 0.25 },
    });
  });

  it('sweeps for lost webhook work every 5 s unless WEBHOOK_SWEEP_INTERVAL_MS says otherwise', () => {
    expect(loadConfig({}).webhooks.sweepIntervalMs).toBe(5_000);
    expect(loadConfig({ WEBHOOK_SWEEP_INTERVAL_MS: '250' }).webhooks.sweepIntervalMs).toBe(250);
  });

  it.each([
    ['LOG_FORMAT', 'text'],
    ['METRICS_TOKEN', 'short'],
    ['METRICS_TOKEN', 'sixteen chars but spaces'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'collector:4318'],
    ['OTEL_SERVICE_NAME', 'wallet service'],
    ['OTEL_TRACES_SAMPLE_RATIO', '1.5'],
    ['OTEL_TRACES_SAMPLE_RATIO', '-0.1'],
    ['WEBHOOK_SWEEP_INTERVAL_MS', '99'],
    ['WEBHOOK_SWEEP_INTERVAL_MS', 'soon'],
  ])('refuses %s=%j naming it', (variable, value) => {
    expect(problemsOf({ [variable]: value }).map((problem) => problem.split(':')[0])).toEqual([variable]);
  });

  it('reads REDIS_URL alone as a standalone Redis', () => {
    expect(loadConfig({}).redis.topology).toEqual({ kind: 'standalone' });
  });

  it('reads REDIS_SENTINELS, REDIS_SENTINEL_NAME and REDIS_SENTINEL_PASSWORD as a Sentinel topology', () => {
    expect(
      loadConfig({
        REDIS_SENTINELS: ' 10.0.0.5:26379, sentinel-b.internal:26380 ,[::1]:26381',
        REDIS_SENTINEL_NAME: 'wallet-cache',
        REDIS_SENTINEL_PASSWORD: 'sentinel-secret',
      }).redis.topology,
    ).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: '10.0.0.5', port: 26_379 },
        { host: 'sentinel-b.internal', port: 26_380 },
        { host: '::1', port: 26_381 },
      ],
      masterName: 'wallet-cache',
      sentinelPassword: 'sentinel-secret',
    });
    expect(loadConfig({ REDIS_SENTINELS: '127.0.0.1:26379' }).redis.topology).toMatchObject({ masterName: 'mymaster' });
  });

  it('reads REDIS_CLUSTER_NODES as a Cluster topology', () => {
    expect(loadConfig({ REDIS_CLUSTER_NODES: '127.0.0.1:7000,127.0.0.1:7001' }).redis.topology).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '127.0.0.1', port: 7_000 },
        { host: '127.0.0.1', port: 7_001 },
      ],
    });
  });

  it('sweeps for lost report and reconciliation jobs every 30 s unless JOB_SWEEP_INTERVAL_MS says otherwise', () => {
    expect(loadConfig({}).jobSweepIntervalMs).toBe(30_000);
    expect(loadConfig({ JOB_SWEEP_INTERVAL_MS: '1000' }).jobSweepIntervalMs).toBe(1_000);
  });

  it.each([
    ['REDIS_SENTINELS', '127.0.0.1'],
    ['REDIS_SENTINELS', 'redis://127.0.0.1:26379'],
    ['REDIS_SENTINELS', '127.0.0.1:70000'],
    ['REDIS_SENTINELS', ','],
    ['REDIS_SENTINEL_NAME', 'my master'],
    ['REDIS_CLUSTER_NODES', 'a:1,b'],
    ['JOB_SWEEP_INTERVAL_MS', '999'],
  ])('refuses %s=%j naming it', (variable, value) => {
    expect(problemsOf({ [variable]: value }).map((problem) => problem.split(':')[0])).toEqual([variable]);
  });

  it('refuses a Sentinel and a Cluster topology at once, and a database index on a Cluster', () => {
    expect(problemsOf({ REDIS_SENTINELS: 'a:26379', REDIS_CLUSTER_NODES: 'b:7000' }).map((p) => p.split(':')[0])).toEqual([
      'REDIS_CLUSTER_NODES',
    ]);
    expect(problemsOf({ REDIS_URL: 'redis://x:6379/3', REDIS_CLUSTER_NODES: 'b:7000' }).map((p) => p.split(':')[0])).toEqual([
      'REDIS_URL',
    ]);
  });
});
