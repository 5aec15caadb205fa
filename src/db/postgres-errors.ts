/** SQLSTATEs the service reacts to. */
export const PgCode = {
  uniqueViolation: '23505',
  serializationFailure: '40001',
  deadlockDetected: '40P01',
  duplicateDatabase: '42P04',
  adminShutdown: '57P01',
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
 * (max_connections or a role's or database's limit: 53300), or the connection was cut.
 */
export function isDatabaseUnavailableError(error: unknown): boolean {
  const code = pgErrorCode(error);
  if (code === PgCode.adminShutdown || code === PgCode.cannotConnectNow || code === PgCode.tooManyConnections) {
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
