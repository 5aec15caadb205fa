import type { Sql, TransactionSql } from 'postgres';

/** The handle a long read gets: every statement made through it runs in the one transaction. */
export type ReadTransaction = TransactionSql;

export interface LongReadOptions {
  /** Each statement's cut-off inside the transaction, instead of the pool's default. */
  statementTimeoutMs: number;
  /**
   * `snapshot`: REPEATABLE READ READ ONLY, so that every statement sees the same committed
   * transactions, each one entirely or not at all; a read-only snapshot blocks no writer and is
   * never aborted by one. `per-statement`: the default READ COMMITTED, writes allowed, each
   * statement its own snapshot (reconciliation's repairs, which measure and write in one
   * statement).
   */
  isolation: 'snapshot' | 'per-statement';
}

const BEGIN_MODES: Record<LongReadOptions['isolation'], string> = {
  snapshot: 'isolation level repeatable read read only',
  'per-statement': 'isolation level read committed',
};

/**
 * The one way reports and reconciliation open a transaction: its isolation, its statement
 * timeout, and no JIT, set for this transaction only (`set_config(..., true)`), so that the
 * pooled connection goes back with the service's defaults.
 *
 * No JIT: these are short statements whose estimated cost crosses the JIT threshold on a large
 * ledger, and compiling one took longer than running it (a report about 35 ms against 27 ms; a
 * reconciliation chunk about 300 ms against 250 ms, measured at 10 million ledger entries).
 */
export async function longReadTransaction<T>(
  sql: Sql,
  options: LongReadOptions,
  work: (tx: ReadTransaction) => Promise<T>,
): Promise<T> {
  // Wrapped in an object: postgres.js unwraps an array result, which would change T.
  const { value } = await sql.begin(BEGIN_MODES[options.isolation], async (tx) => {
    await tx`SELECT set_config('statement_timeout', ${String(options.statementTimeoutMs)}, true),
                    set_config('jit', 'off', true)`;
    return { value: await work(tx) };
  });
  return value;
}
