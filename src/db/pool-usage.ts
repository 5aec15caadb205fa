import type { Sql } from 'postgres';

/** What `/metrics` reports about a process's PostgreSQL pool. */
export interface PoolUsage {
  /** Connections in use: held by a transaction or a reservation, or running statements. */
  inUse: number;
  /** Statements, transactions and reservations that asked for a connection and have none yet. */
  waiting: number;
  /** The pool's size (`DATABASE_POOL_MAX`). */
  max: number;
}

/** The part of a postgres.js query that the tracker reads; set by postgres.js itself. */
interface TrackedQuery {
  handler: (query: TrackedQuery) => unknown;
  resolve: (value: unknown) => unknown;
  reject: (error: unknown) => unknown;
  /** The backend (pid and secret) of the connection running it; null until it runs on one. */
  state: object | null;
}

function isQuery(value: unknown): value is TrackedQuery {
  return value instanceof Promise && typeof (value as Partial<TrackedQuery>).handler === 'function';
}

/**
 * Counts how the pool is used, because postgres.js exposes no pool statistics (porsager/postgres
 * issue 443). The returned client is the same client behind a Proxy that notes:
 *
 * - transactions (`begin`): waiting from the call until their callback runs (BEGIN went through,
 *   so a connection is theirs), then in use until they settle;
 * - reservations (`reserve`): waiting until a connection is reserved, in use until `release()`;
 * - statements (tagged templates and `unsafe`, drizzle's path): in flight from the moment they
 *   ask the pool for a connection until they settle. One that is not yet running on a connection
 *   (postgres.js sets its `state` when it is sent) is waiting; the distinct connections running
 *   the others are in use (postgres.js pipelines several statements on one connection).
 *
 * The figures are read at scrape time; recording is a counter update and a Set insertion per
 * statement.
 */
export function trackPoolUsage(sql: Sql, max: number): { sql: Sql; usage: () => PoolUsage } {
  const statements = new Set<TrackedQuery>();
  let held = 0;
  let waitingHolders = 0;

  const track = <T>(result: T): T => {
    if (!isQuery(result)) return result; // a fragment (identifier, helper), never executed alone
    const query = result;
    const { handler, resolve, reject } = query;
    query.handler = (self) => {
      statements.add(query);
      return handler(self);
    };
    query.resolve = (value) => {
      statements.delete(query);
      return resolve(value);
    };
    query.reject = (error) => {
      statements.delete(query);
      return reject(error);
    };
    return result;
  };

  const begin = (...args: unknown[]): Promise<unknown> => {
    const fnIndex = args.length - 1;
    const work = args[fnIndex] as (tx: Sql) => unknown;
    let started = false;
    waitingHolders += 1;
    args[fnIndex] = (tx: Sql) => {
      started = true;
      waitingHolders -= 1;
      held += 1;
      return work(tx);
    };
    const release = () => {
      if (started) held -= 1;
      else waitingHolders -= 1;
    };
    const transaction = (sql.begin as (...a: unknown[]) => Promise<unknown>)(...args);
    transaction.then(release, release);
    return transaction;
  };

  const reserve = async (): Promise<unknown> => {
    waitingHolders += 1;
    let reserved: Awaited<ReturnType<Sql['reserve']>>;
    try {
      reserved = await sql.reserve();
    } finally {
      waitingHolders -= 1;
    }
    held += 1;
    const release = reserved.release.bind(reserved);
    let released = false;
    reserved.release = () => {
      if (!released) held -= 1;
      released = true;
      release();
    };
    return reserved;
  };

  const unsafe = (...args: unknown[]) => track((sql.unsafe as (...a: unknown[]) => unknown)(...args));

  const proxy = new Proxy(sql, {
    apply: (target, thisArg, args) => track(Reflect.apply(target, thisArg, args)),
    get: (target, property, receiver) => {
      if (property === 'begin') return begin;
      if (property === 'reserve') return reserve;
      if (property === 'unsafe') return unsafe;
      return Reflect.get(target, property, receiver);
    },
  });

  const usage = (): PoolUsage => {
    let queued = 0;
    const running = new Set<object>();
    for (const query of statements) {
      if (query.state === null) queued += 1;
      else running.add(query.state);
    }
    return { inUse: Math.min(held + running.size, max), waiting: waitingHolders + queued, max };
  };

  return { sql: proxy, usage };
}
