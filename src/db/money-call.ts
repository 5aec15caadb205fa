import { retryTransient } from './database';
import { isDatabaseUnavailableError, isRetryableTransactionError, PgCode, pgErrorCode } from './postgres-errors';

/**
 * Runs one call of a single-operation money function (a withdrawal), retrying deadlocks and
 * serialization failures; a unique violation on the idempotency key means a same-key request
 * committed first, so one more call replays it. `toDomainError` turns the function's own
 * SQLSTATEs into domain errors and rethrows anything else.
 */
export async function callMoneyFunction<T>(call: () => Promise<T>, toDomainError: (error: unknown) => never): Promise<T> {
  try {
    return await retryTransient(call);
  } catch (error) {
    if (pgErrorCode(error) !== PgCode.uniqueViolation) toDomainError(error);
    try {
      return await call();
    } catch (retryError) {
      toDomainError(retryError);
    }
  }
}

/** A whole batch is re-run at most this many times (deadlock, serialization, key race). */
const BATCH_ATTEMPTS_MAX = 3;

/**
 * Runs one call of a batched money function (purchases, deposits). A unique violation means
 * another instance committed one of the batch's keys first: running the batch again turns that
 * item into a replay; deadlocks and serialization failures are re-run too. Undefined means "run
 * the items one by one (batches of one)": something unexpected failed the whole batch, and one
 * bad item must not fail its neighbours. An unreachable database, or a batch of one, fails as it is.
 */
export async function callMoneyBatch<R>(run: () => Promise<R[]>, itemCount: number): Promise<R[] | undefined> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (error) {
      const keyRace = pgErrorCode(error) === PgCode.uniqueViolation;
      if ((keyRace || isRetryableTransactionError(error)) && attempt < BATCH_ATTEMPTS_MAX) continue;
      if (isDatabaseUnavailableError(error) || itemCount === 1) throw error;
      return undefined;
    }
  }
}
