import { environmentSchema } from './config.schema';

export type AppRole = 'api' | 'worker' | 'all';
export type AuthMode = 'header' | 'jwt';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
/** `auto`: pretty when stdout is a terminal and NODE_ENV is not production, JSON otherwise. */
export type LogFormat = 'pretty' | 'json' | 'auto';

export interface RedisNode {
  host: string;
  port: number;
}

export type RedisTopology =
  | { kind: 'standalone' }
  | { kind: 'sentinel'; sentinels: readonly RedisNode[]; masterName: string; sentinelPassword: string | undefined }
  | { kind: 'cluster'; nodes: readonly RedisNode[] };

/** The typed configuration every module reads, through the `AppConfig` provider only. */
export class AppConfig {
  readonly nodeEnv!: 'development' | 'test' | 'production';
  readonly http!: {
    port: number;
    host: string;
    shutdownTimeoutMs: number;
    workers: number;
    /** Slow clients (ADR 0038): headers, then the whole request, must arrive within these. */
    headersTimeoutMs: number;
    requestTimeoutMs: number;
    /** Fastify's `trustProxy`: who may set X-Forwarded-For (the client address of rate limits). */
    trustProxy: boolean | number | readonly string[];
  };
  /**
   * `url`: the pool (one host or several; PgBouncer when `poolMode` is `transaction`).
   * `directUrl`: sessions on the primary for migrations and advisory locks (ADR 0050, 0051).
   */
  readonly database!: {
    url: string;
    poolMax: number;
    poolMode: 'session' | 'transaction';
    directUrl: string;
    /** A standby for reads that may be slightly stale, and how stale (ADR 0053); undefined: none. */
    readUrl: string | undefined;
    readReplicaMaxLagMs: number;
  };
  readonly redis!: {
    url: string;
    keyPrefix: string;
    /** Where the master is: REDIS_URL's address, asked of Sentinels, or found from Cluster seed nodes. */
    topology: RedisTopology;
  };
  /** How often workers look for report and reconciliation jobs lost in Redis (ADR 0057). */
  readonly jobSweepIntervalMs!: number;
  readonly auth!: {
    mode: AuthMode;
    jwtSecret: string | undefined;
    jwtPublicKey: string | undefined;
    /** Required `iss` and `aud` of a token; undefined = not checked. */
    jwtIssuer: string | undefined;
    jwtAudience: string | undefined;
    adminUserIds: readonly string[];
  };
  readonly platformAccountId!: string;
  readonly authorRoyaltyPercent!: number;
  /** Group commit (ADR 0014): purchase transactions in flight at once, and purchases per transaction. */
  readonly purchaseBatching!: { lanes: number; batchSizeMax: number };
  /** Withdrawals below it are refused; payout runs skip smaller balances (ADR 0018). */
  readonly payoutMinimumCents!: number;
  /** Period of the scheduled payout run (ADR 0018); undefined = no schedule. */
  readonly payoutRunEveryMs!: number | undefined;
  /** Purchase holds (ADR 0018): their lifetime, and how often workers void the expired ones. */
  readonly holds!: { ttlMs: number; sweepIntervalMs: number };
  /** Replayed results kept in process memory (ADR 0007); 0 = every replay asks Redis. */
  readonly idempotencyMemoryResults!: number;
  /** V8's old-generation growing factor as a percentage over 1 (ADR 0070); 0 = V8's own. */
  readonly v8HeapGrowingPercent!: number;
  readonly swaggerEnabled!: boolean;
  readonly role!: AppRole;
  readonly logLevel!: LogLevel;
  readonly logFormat!: LogFormat;
  /** Bearer token that `GET /metrics` requires; undefined = the endpoint is public. */
  readonly metricsToken!: string | undefined;
  /** OTLP/HTTP endpoint (the collector's base URL); undefined = tracing off, SDK not loaded. */
  readonly tracing!: { endpoint: string | undefined; serviceName: string; sampleRatio: number };
  readonly reconciliation!: { everyMs: number; fixBalances: boolean; incremental: boolean; sweepPeriodMs: number };
  /** Requests per caller per window, shared across instances through Redis; 0 = window off. */
  readonly rateLimit!: { perSecond: number; perMinute: number; anonymousPerMinute: number };
  /** Browser origins allowed by CORS; empty = CORS off. */
  readonly corsOrigins!: readonly string[];
  /** Webhook delivery (ADR 0031, 0032); `secretKey` undefined = the built-in development key. */
  readonly webhooks!: {
    timeoutMs: number;
    maxAttempts: number;
    retryBaseMs: number;
    disableAfterMs: number;
    allowPrivateNetworks: boolean;
    secretKey: string | undefined;
    concurrency: number;
    dispatchIntervalMs: number;
    sweepIntervalMs: number;
  };
}

export class ConfigValidationError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigValidationError';
  }
}

/**
 * Parses an environment (normally `process.env`) into `AppConfig`. Reports every bad variable
 * at once so that one failed boot shows all that needs fixing.
 */
export function loadConfig(env: Record<string, string | undefined>): AppConfig {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = environmentSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigValidationError(
      parsed.error.issues.map((issue) => `${issue.path.join('.') || '(environment)'}: ${issue.message}`),
    );
  }
  const e = parsed.data;
  return Object.freeze({
    nodeEnv: e.NODE_ENV,
    http: {
      port: e.PORT,
      host: e.HOST,
      shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
      workers: e.HTTP_WORKERS,
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      trustProxy: Array.isArray(e.TRUST_PROXY) ? Object.freeze([...e.TRUST_PROXY]) : e.TRUST_PROXY,
    },
    database: {
      url: e.DATABASE_URL,
      poolMax: e.DATABASE_POOL_MAX,
      poolMode: e.DATABASE_POOL_MODE,
      directUrl: e.DATABASE_DIRECT_URL ?? e.DATABASE_URL,
      readUrl: e.DATABASE_READ_URL,
      readReplicaMaxLagMs: e.READ_REPLICA_MAX_LAG_MS,
    },
    redis: { url: e.REDIS_URL, keyPrefix: e.REDIS_KEY_PREFIX, topology: redisTopologyOf(e) },
    jobSweepIntervalMs: e.JOB_SWEEP_INTERVAL_MS,
    auth: {
      mode: e.AUTH_MODE ?? 'header',
      jwtSecret: e.JWT_SECRET,
      jwtPublicKey: e.JWT_PUBLIC_KEY,
      jwtIssuer: e.JWT_ISSUER,
      jwtAudience: e.JWT_AUDIENCE,
      adminUserIds: Object.freeze([...e.ADMIN_USER_IDS]),
    },
    platformAccountId: e.PLATFORM_ACCOUNT_ID,
    authorRoyaltyPercent: e.AUTHOR_ROYALTY_PERCENT,
    purchaseBatching: { lanes: e.PURCHASE_LANES, batchSizeMax: e.PURCHASE_BATCH_SIZE_MAX },
    payoutMinimumCents: e.PAYOUT_MINIMUM_CENTS,
    payoutRunEveryMs: e.PAYOUT_RUN_EVERY,
    holds: { ttlMs: e.HOLD_TTL, sweepIntervalMs: e.HOLD_SWEEP_INTERVAL_MS },
    idempotencyMemoryResults: e.IDEMPOTENCY_MEMORY_RESULTS,
    v8HeapGrowingPercent: e.V8_HEAP_GROWING_PERCENT,
    swaggerEnabled: e.SWAGGER_ENABLED,
    role: e.APP_ROLE,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT ?? 'auto',
    metricsToken: e.METRICS_TOKEN,
    tracing: { endpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT?.replace(/\/+$/, ''), serviceName: e.OTEL_SERVICE_NAME,
      sampleRatio: e.OTEL_TRACES_SAMPLE_RATIO,
    },
    reconciliation: {
      everyMs: e.RECONCILE_EVERY,
      fixBalances: e.RECONCILE_FIX_BALANCES,
      incremental: e.RECONCILE_INCREMENTAL,
      sweepPeriodMs: e.RECONCILE_SWEEP_PERIOD,
    },
    rateLimit: {
      perSecond: e.RATE_LIMIT_PER_SECOND,
      perMinute: e.RATE_LIMIT_PER_MINUTE,
      anonymousPerMinute: e.RATE_LIMIT_ANONYMOUS_PER_MINUTE,
    },
    corsOrigins: Object.freeze([...e.CORS_ORIGINS]),
    webhooks: {
      timeoutMs: e.WEBHOOK_TIMEOUT_MS,
      maxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
      retryBaseMs: e.WEBHOOK_RETRY_BASE_MS,
      disableAfterMs: Math.round(e.WEBHOOK_DISABLE_AFTER_HOURS * 3_600_000),
      allowPrivateNetworks: e.WEBHOOK_ALLOW_PRIVATE_NETWORKS,
      secretKey: e.WEBHOOK_SECRET_KEY,
      concurrency: e.WEBHOOK_CONCURRENCY,
      dispatchIntervalMs: e.WEBHOOK_DISPATCH_INTERVAL_MS,
      sweepIntervalMs: e.WEBHOOK_SWEEP_INTERVAL_MS,
    },
  }) as AppConfig;
}

/** The one place that reads `process.env`. */
export function loadConfigFromProcess(): AppConfig {
  return loadConfig(process.env);
}

function redisTopologyOf(e: {
  REDIS_SENTINELS?: RedisNode[] | undefined;
  REDIS_SENTINEL_NAME: string;
  REDIS_SENTINEL_PASSWORD?: string | undefined;
  REDIS_CLUSTER_NODES?: RedisNode[] | undefined;
}): RedisTopology {
  if (e.REDIS_SENTINELS) {
    return {
      kind: 'sentinel',
      sentinels: Object.freeze(e.REDIS_SENTINELS.map((node) => ({ ...node }))),
      masterName: e.REDIS_SENTINEL_NAME,
      sentinelPassword: e.REDIS_SENTINEL_PASSWORD,
    };
  }
  if (e.REDIS_CLUSTER_NODES) return { kind: 'cluster', nodes: Object.freeze(e.REDIS_CLUSTER_NODES.map((node) => ({ ...node }))) };
  return { kind: 'standalone' };
}
