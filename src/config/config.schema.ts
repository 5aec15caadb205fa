import { isIP } from 'node:net';
import { z } from 'zod';
import { assertWritable, DatabaseUrlError, parseDatabaseUrl } from '../db/database-url';

const uuid = z.string().uuid();

const booleanFromString = z
  .enum(['true', 'false', '1', '0'])
  .transform((value) => value === 'true' || value === '1');

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const uuidList = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((id) => id.trim())
      .filter((id) => id.length > 0),
  )
  .pipe(z.array(uuid));

/** Comma-separated browser origins (`https://shop.example.com`); empty leaves CORS off. */
const originList = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((origin) => origin.trim())
      .filter((origin) => origin.length > 0),
  )
  .pipe(z.array(z.string().regex(/^https?:\/\/[^\s/,]+$/, 'must be an origin such as https://shop.example.com')));

/**
 * Which peers may set X-Forwarded-For (Fastify's `trustProxy`): `false` (none: the client
 * address is the peer's), `true` (any: only when nothing but the proxy can reach the service),
 * a hop count (`1`), or addresses and CIDRs (`10.0.0.0/8, 127.0.0.1`, also `loopback`,
 * `linklocal`, `uniquelocal`).
 */
const trustProxy = z.string().transform((value, ctx): boolean | number | string[] => {
  const text = value.trim();
  if (text === 'false' || text === '0') return false;
  if (text === 'true') return true;
  if (/^[1-9]\d?$/.test(text)) return Number(text);
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  const isAddressOrRange = (entry: string) => {
    if (['loopback', 'linklocal', 'uniquelocal'].includes(entry)) return true;
    const [address = '', prefix, ...rest] = entry.split('/');
    const version = isIP(address);
    const bits = version === 4 ? 32 : 128;
    return version !== 0 && rest.length === 0 && (prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits));
  };
  if (entries.length === 0 || !entries.every(isAddressOrRange)) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      message: 'must be false, true, a hop count (1-99) or comma-separated addresses/CIDRs (10.0.0.0/8, loopback)',
    });
    return z.NEVER;
  }
  return entries;
});

/** Comma-separated `host:port` addresses (`10.0.0.5:26379, sentinel-b:26379`, `[::1]:26379`). */
const hostPortList = z.string().transform((value, ctx): { host: string; port: number }[] => {
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  const nodes = entries.map((entry) => /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(entry));
  const valid = nodes.every((match) => match !== null && Number(match[3]) >= 1 && Number(match[3]) <= 65_535);
  if (entries.length === 0 || !valid) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      message: 'must be host:port entries separated by commas (ports 1 to 65535), such as 10.0.0.5:26379,10.0.0.6:26379',
    });
    return z.NEVER;
  }
  return nodes.map((match) => ({ host: match![1] ?? match![2]!, port: Number(match![3]) }));
});

/**
 * A postgres:// URL with one host or several, each with its port, whose target_session_attrs
 * can take writes (see src/db/database-url.ts).
 */
const writablePostgresUrl = z.string().superRefine((value, ctx) => {
  try {
    assertWritable(parseDatabaseUrl(value));
  } catch (error) {
    if (!(error instanceof DatabaseUrlError)) throw error;
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: error.message });
  }
});

/** A postgres:// URL, one host or several, each with its port (src/db/database-url.ts). */
const postgresUrl = z.string().superRefine((value, ctx) => {
  try {
    parseDatabaseUrl(value);
  } catch (error) {
    if (!(error instanceof DatabaseUrlError)) throw error;
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: error.message });
  }
});

const durationMs = z
  .string()
  .regex(/^\d+(ms|s|m|h)?$/, 'must be a duration such as 600000, 30s, 10m or 1h')
  .transform((value) => {
    const match = /^(\d+)(ms|s|m|h)?$/.exec(value)!;
    const factor = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[match[2] ?? 'ms']!;
    return Number(match[1]) * factor;
  })
  .pipe(z.number().int().min(1_000).max(7 * 24 * 3_600_000));

/** How long a purchase hold lasts: a duration up to 30 days (ADR 0018). */
const holdTtlMs = z
  .string()
  .regex(/^\d+(ms|s|m|h|d)?$/, 'must be a duration such as 7d, 36h or 30m')
  .transform((value) => {
    const match = /^(\d+)(ms|s|m|h|d)?$/.exec(value)!;
    const factor = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? 'ms']!;
    return Number(match[1]) * factor;
  })
  .pipe(z.number().int().min(1_000, 'must be at least 1s').max(30 * 86_400_000, 'must be at most 30d'));

/** How often the scheduled payout run comes: a duration from 1 second to 31 days (ADR 0018). */
const payoutRunEveryMs = z
  .string()
  .regex(/^\d+(ms|s|m|h|d)?$/, 'must be a duration such as 1d, 12h or 30m')
  .transform((value) => {
    const match = /^(\d+)(ms|s|m|h|d)?$/.exec(value)!;
    const factor = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] ?? 'ms']!;
    return Number(match[1]) * factor;
  })
  .pipe(z.number().int().min(1_000, 'must be at least 1s').max(31 * 86_400_000, 'must be at most 31d'));

/**
 * Every environment variable the service reads, with its default. Values arrive as strings
 * and leave typed; anything that does not parse stops the process with the variable named.
 */
export const environmentSchema = z
  .object({
    NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
    PORT: integer(1, 65_535).default('3000'),
    HOST: z.string().min(1).default('0.0.0.0'),
    // One host or several (h1:5432,h2:5432, each with its port); the service keeps to the primary (ADR 0050).
    DATABASE_URL: writablePostgresUrl.default('postgres://postgres@127.0.0.1:5432/wallet'),
    // `transaction` when DATABASE_URL is PgBouncer in transaction mode (ADR 0051); then DATABASE_DIRECT_URL is required.
    DATABASE_POOL_MODE: z.enum(['session', 'transaction']).default('session'),
    // Direct sessions to the primary for migrations and advisory locks; unset: DATABASE_URL.
    DATABASE_DIRECT_URL: writablePostgresUrl.optional(),
    // A standby for reads that may be slightly stale (ADR 0053); unset: every read on the primary.
    DATABASE_READ_URL: postgresUrl.optional(),
    // Past this lag (or while it is unknown) those reads go to the primary.
    READ_REPLICA_MAX_LAG_MS: integer(100, 600_000).default('1000'),
    DATABASE_POOL_MAX: integer(1, 200).default('20'),
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// URL')
      .default('redis://127.0.0.1:6379'),
    REDIS_KEY_PREFIX: z
      .string()
      .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1 to 64 characters of [A-Za-z0-9_.:-]')
      .default('wallet:'),
    // Redis behind Sentinel (ADR 0055): the master is asked of these; REDIS_URL then gives only
    // the credentials and database index, not the address.
    REDIS_SENTINELS: hostPortList.optional(),
    REDIS_SENTINEL_NAME: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1 to 64 characters of [A-Za-z0-9_.-]')
      .default('mymaster'),
    REDIS_SENTINEL_PASSWORD: z.string().min(1).max(512).optional(),
    // Redis Cluster (ADR 0056): seed nodes; REDIS_URL then gives only the credentials.
    REDIS_CLUSTER_NODES: hostPortList.optional(),
    // How often workers look for report and reconciliation jobs that Redis lost (ADR 0057).
    JOB_SWEEP_INTERVAL_MS: integer(1_000, 3_600_000).default('30000'),
    PLATFORM_ACCOUNT_ID: uuid.default('00000000-0000-4000-8000-000000000001'),
    ADMIN_USER_IDS: uuidList.default(''),
    AUTH_MODE: z.enum(['header', 'jwt']).optional(),
    JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    JWT_PUBLIC_KEY: z.string().includes('BEGIN PUBLIC KEY', { message: 'must be a PEM public key' }).optional(),
    // Unset: any issuer and audience. Set: a token must carry exactly this `iss` / this `aud`.
    JWT_ISSUER: z.string().max(256, 'must be at most 256 characters').optional(),
    JWT_AUDIENCE: z.string().max(256, 'must be at most 256 characters').optional(),
    AUTHOR_ROYALTY_PERCENT: integer(0, 100).default('70'),
    // Smaller withdrawals are refused (422 PAYOUT_BELOW_MINIMUM); payout runs skip smaller balances (ADR 0018).
    PAYOUT_MINIMUM_CENTS: integer(1, 1_000_000_000).default('1'),
    // Unset: no scheduled payout runs. Set: worker roles start one run per period, aligned to the Unix epoch (ADR 0018).
    PAYOUT_RUN_EVERY: payoutRunEveryMs.optional(),
    // Purchase holds (ADR 0018): how long one lasts, and how often workers void the expired ones.
    HOLD_TTL: holdTtlMs.default('7d'),
    HOLD_SWEEP_INTERVAL_MS: integer(100, 3_600_000).default('5000'),
    SWAGGER_ENABLED: booleanFromString.default('true'),
    APP_ROLE: z.enum(['api', 'worker', 'all']).default('all'),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    // Unset: pretty when stdout is a terminal outside production, JSON lines otherwise (ADR 0044).
    LOG_FORMAT: z.enum(['pretty', 'json']).optional(),
    // Unset: /metrics is public (reach it only from the scraper's network).
    METRICS_TOKEN: z
      .string()
      .regex(/^[\x21-\x7e]{16,256}$/, 'must be 16 to 256 printable characters without spaces')
      .optional(),
    // Unset: no tracing, and the OpenTelemetry SDK is not even loaded (ADR 0011).
    OTEL_EXPORTER_OTLP_ENDPOINT: z
      .string()
      .regex(/^https?:\/\/[^\s]+$/, 'must be an http:// or https:// URL such as http://127.0.0.1:4318')
      .optional(),
    // Share of traces recorded (their root decides; children follow): 1 records every request.
    OTEL_TRACES_SAMPLE_RATIO: z
      .string()
      .regex(/^(0(\.\d{1,6})?|1(\.0{1,6})?)$/, 'must be a number from 0 to 1, such as 0.1')
      .transform(Number)
      .default('1'),
    OTEL_SERVICE_NAME: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'must be 1 to 64 characters of [A-Za-z0-9_.-]')
      .default('wallet-service'),
    SHUTDOWN_TIMEOUT_MS: integer(1_000, 120_000).default('10000'),
    // Slow clients (ADR 0038): the request line and headers, then the whole request with its
    // body, must arrive within these or the connection is dropped.
    HTTP_HEADERS_TIMEOUT_MS: integer(1_000, 120_000).default('10000'),
    HTTP_REQUEST_TIMEOUT_MS: integer(1_000, 300_000).default('15000'),
    TRUST_PROXY: trustProxy.default('false'),
    HTTP_WORKERS: integer(1, 16).default('1'),
    PURCHASE_LANES: integer(1, 64).default('1'),
    PURCHASE_BATCH_SIZE_MAX: integer(1, 500).default('64'),
    IDEMPOTENCY_MEMORY_RESULTS: integer(0, 1_000_000).default('5000'),
    // How far V8 lets the old generation grow past what its last full collection kept (ADR 0070);
    // 0 leaves V8 its own factor, which goes up to 4x.
    V8_HEAP_GROWING_PERCENT: integer(0, 300).default('100'),
    RECONCILE_EVERY: durationMs.default('10m'),
    RECONCILE_FIX_BALANCES: booleanFromString.default('false'),
    // Scheduled runs check what changed plus a slice of a rolling full sweep that covers all the
    // books within RECONCILE_SWEEP_PERIOD (ADR 0028); false: every run is a full one.
    RECONCILE_INCREMENTAL: booleanFromString.default('true'),
    RECONCILE_SWEEP_PERIOD: durationMs.default('24h'),
    // Per caller, across all instances; 0 turns a window off. Generous so that load tests pass.
    RATE_LIMIT_PER_SECOND: integer(0, 1_000_000).default('5000'),
    RATE_LIMIT_PER_MINUTE: integer(0, 60_000_000).default('0'),
    // Per client address: requests without a valid identity and requests for unknown routes.
    RATE_LIMIT_ANONYMOUS_PER_MINUTE: integer(0, 60_000_000).default('120'),
    CORS_ORIGINS: originList.default(''),
    // Webhooks (ADR 0031, 0032): a delivery attempt's limit, attempts per delivery, first retry delay.
    WEBHOOK_TIMEOUT_MS: integer(100, 60_000).default('10000'),
    WEBHOOK_MAX_ATTEMPTS: integer(1, 20).default('8'),
    WEBHOOK_RETRY_BASE_MS: integer(100, 3_600_000).default('30000'),
    WEBHOOK_DISABLE_AFTER_HOURS: z
      .string()
      .regex(/^\d+(\.\d+)?$/, 'must be a number of hours such as 72 or 0.5')
      .transform(Number)
      .pipe(z.number().positive('must be more than 0').max(8_760))
      .default('72'),
    WEBHOOK_ALLOW_PRIVATE_NETWORKS: booleanFromString.default('false'),
    // Unset: secrets are encrypted with a built-in development key, which a dump reveals (ADR 0031).
    WEBHOOK_SECRET_KEY: z
      .string()
      .regex(/^[\x21-\x7e]{32,256}$/, 'must be 32 to 256 printable characters without spaces')
      .optional(),
    WEBHOOK_CONCURRENCY: integer(1, 256).default('16'),
    WEBHOOK_DISPATCH_INTERVAL_MS: integer(10, 60_000).default('200'),
    // How fast lost work is found again: overdue after 3 intervals, an attempt's lease is the timeout plus 6.
    WEBHOOK_SWEEP_INTERVAL_MS: integer(100, 600_000).default('5000'),
  })
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === 'production' && env.AUTH_MODE === undefined) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['AUTH_MODE'],
        message: 'must be set explicitly (header or jwt) when NODE_ENV=production',
      });
    }
    if (env.HTTP_HEADERS_TIMEOUT_MS > env.HTTP_REQUEST_TIMEOUT_MS) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['HTTP_HEADERS_TIMEOUT_MS'],
        message: 'must not exceed HTTP_REQUEST_TIMEOUT_MS (the whole request includes its headers)',
      });
    }
    if (env.REDIS_SENTINELS && env.REDIS_CLUSTER_NODES) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['REDIS_CLUSTER_NODES'],
        message: 'must not be set together with REDIS_SENTINELS (a Sentinel setup is not a Cluster)',
      });
    }
    if (env.REDIS_CLUSTER_NODES && /^rediss?:\/\/[^/]*\/[1-9]/.test(env.REDIS_URL)) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['REDIS_URL'],
        message: 'must not select a database index with REDIS_CLUSTER_NODES (Redis Cluster has only database 0)',
      });
    }
    if (env.DATABASE_POOL_MODE === 'transaction' && env.DATABASE_DIRECT_URL === undefined) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['DATABASE_DIRECT_URL'],
        message: 'is required when DATABASE_POOL_MODE=transaction (migrations and advisory locks need a session of their own)',
      });
    }
    if (env.AUTH_MODE === 'jwt' && !env.JWT_SECRET && !env.JWT_PUBLIC_KEY) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['JWT_SECRET'],
        message: 'JWT_SECRET or JWT_PUBLIC_KEY is required when AUTH_MODE=jwt',
      });
    }
  });

export type Environment = z.infer<typeof environmentSchema>;
