/** SQLSTATEs the service reacts to. */
export const PgCode = {
  uniqueViolation: '23505',
  serializationFailure: '40001',
  deadlockDetected: '40P01',
  duplicateDatabase: '42P04',
  /** A write on a standby: the server this connection reached is not (or no longer) the primary. */
  readOnlySqlTransaction: '25006',
  adminShutdown: '57P01',
  crashShutdown: '57P02',
  cannotConnectNow: '57P03',
  tooManyConnections: '53300',
} as const;

/** SQLSTATEs raised on purpose by the service's own SQL functions (src/db/functions/wallet_debit.sql). */
export const WalletSqlCode = {
  walletNotFound: 'WL001',
  insufficientFunds: 'WL002',
} as const;

/** How many wrappers pgErrorCode looks through; a cycle of causes ends here. */
const CAUSE_DEPTH_MAX = 4;

/**
 * The SQLSTATE (or the driver's connection error code) of an error. Queries built with Drizzle
 * fail with a DrizzleQueryError that has no code of its own and carries the driver's error as
 * `cause`, so wrappers are looked through: otherwise a lost connection under a Drizzle query
 * would be a 500 instead of a 503, and its deadlocks would not be retried.
 */
export function pgErrorCode(error: unknown): string | undefined {
  let current = error;
  for (let depth = 0; depth <= CAUSE_DEPTH_MAX; depth++) {
    if (typeof current !== 'object' || current === null) return undefined;
    const { code, cause } = current as { code?: unknown; cause?: unknown };
    if (typeof code === 'string') return code;
    current = cause;
  }
  return undefined;
}

export function isRetryableTransactionError(error: unknown): boolean {
  const code = pgErrorCode(error);
  return code === PgCode.serializationFailure || code === PgCode.deadlockDetected;
}

/**
 * Connection-level failures: the database is down, restarting, out of connections
 * (max_connections or a role's or database's limit: 53300), or the connection was cut; and every
 * way of reaching a server that is not the primary (ADR 0050): a write on a standby (25006, also
 * "cannot execute ... during recovery"), a server shutting down for a switchover or crashed
 * (57P01, 57P02), still starting or promoting (57P03), and the connection-exception class 08,
 * which PgBouncer also answers while its server is away (08P01 query_wait_timeout, "server
 * login has been failing"). None of these commits anything; a retry with the same key is safe.
 */
export function isDatabaseUnavailableError(error: unknown): boolean {
  const code = pgErrorCode(error);
  if (
    code === PgCode.readOnlySqlTransaction ||
    code === PgCode.adminShutdown ||
    code === PgCode.crashShutdown ||
    code === PgCode.cannotConnectNow ||
    code === PgCode.tooManyConnections ||
    (code !== undefined && /^08[0-9A-Z]{3}$/.test(code))
  ) {
    return true;
  }
  return (
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'CONNECT_TIMEOUT' ||
    code === 'CONNECTION_WAIT_TIMEOUT' ||
    code === 'CONNECTION_CLOSED' ||
    code === 'CONNECTION_ENDED' ||
    code === 'CONNECTION_DESTROYED' ||
    code === 'EPIPE'
  );
}
