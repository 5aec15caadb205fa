import type { Sql } from 'postgres';

/**
 * Raised when a query, a transaction or a reserved connection waited `waitMs` for a pool
 * connection and got none: PostgreSQL is unreachable, hung, or refusing connections. Nothing
 * reached the server, so nothing was committed. Mapped to 503 like any connection failure.
 */
export class ConnectionWaitTimeoutError extends Error {
  readonly code = 'CONNECTION_WAIT_TIMEOUT';

  constructor(waitMs: number) {
    super(`no PostgreSQL connection within ${waitMs} ms`);
    this.name = 'ConnectionWaitTimeoutError';
  }
}

/** The parts of a postgres.js query this module touches. */
interface PendingQuery extends Promise<unknown> {
  /** Set when a ready connection takes the query (postgres.js `execute`); null while it waits. */
  state: unknown;
  cancel(): unknown;
}

function isPendingQuery(value: unknown): value is PendingQuery {
  return value instanceof Promise && 'state' in value && typeof (value as PendingQuery).cancel === 'function';
}

/**
 * postgres.js has no bound on how long a query waits for a connection: while PostgreSQL does not
 * accept connections, queries queue behind one connection attempt after another (each up to the
 * connect timeout), and in 3.4.9 a query can wait for good when a connection was cut with work on
 * it and the reconnect is refused with an error (upstream porsager/postgres#1193, #1223). This
 * puts the pool-acquisition timeout that the driver lacks in front of it: a query still waiting
 * after `waitMs` is withdrawn from the queue (`cancel()` before it was sent) and fails with
 * ConnectionWaitTimeoutError; a transaction or a reserved connection that has not started by
 * then fails the same way, and is rolled back or released if it starts later. Work that has
 * reached a connection is never cut short here: the statement timeout bounds that.
 */
export function withConnectionWaitBound(sql: Sql, waitMs: number): Sql {
  const bound = (query: PendingQuery): PendingQuery => {
    const then = query.then;
    let armed = false;
    let timedOut = false;
    let timer: NodeJS.Timeout | undefined;
    // `await`, `catch` and `finally` all go through `then`; the first call sends the query.
    query.then = function boundThen(this: PendingQuery, onFulfilled?: unknown, onRejected?: unknown) {
      if (!armed) {
        armed = true;
        timer = setTimeout(() => {
          if (query.state !== null && query.state !== undefined) return;
          timedOut = true;
          query.cancel();
        }, waitMs);
        timer.unref();
      }
      // postgres.js's `then` returns a plain Promise (Query's species), chained as usual.
      const settled: Promise<unknown> = then.call(
        this,
        (value: unknown) => {
          clearTimeout(timer);
          return value;
        },
        (error: unknown) => {
          clearTimeout(timer);
          throw timedOut ? new ConnectionWaitTimeoutError(waitMs) : error;
        },
      );
      return settled.then(onFulfilled as never, onRejected as never);
    } as PendingQuery['then'];
    return query;
  };

  /**
   * `start` resolves once a connection is held. If it has not by `waitMs`, the caller gets
   * ConnectionWaitTimeoutError at once, `onAbandon` runs, and a late success is undone by `onLate`.
   */
  const boundStart = <T>(start: Promise<T>, hasStarted: () => boolean, onAbandon: () => void, onLate: (value: T) => void) =>
    new Promise<T>((resolve, reject) => {
      let abandoned = false;
      const timer = setTimeout(() => {
        if (hasStarted()) return;
        abandoned = true;
        onAbandon();
        reject(new ConnectionWaitTimeoutError(waitMs));
      }, waitMs);
      timer.unref();
      start.then(
        (value) => {
          clearTimeout(timer);
          if (abandoned) onLate(value);
          else resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          if (!abandoned) reject(error);
        },
      );
    });

  const begin = (...args: unknown[]): Promise<unknown> => {
    const work = args.pop() as (tx: unknown) => unknown;
    let started = false;
    let abandoned = false;
    const guarded = (tx: unknown) => {
      // Too late: the caller has had its 503. Throwing rolls the transaction back.
      if (abandoned) throw new ConnectionWaitTimeoutError(waitMs);
      started = true;
      return work(tx);
    };
    const running = (sql.begin as (...beginArgs: unknown[]) => Promise<unknown>)(...args, guarded);
    return boundStart(
      running,
      () => started,
      () => {
        abandoned = true;
      },
      () => undefined,
    );
  };

  const reserve = (): Promise<unknown> =>
    boundStart(
      sql.reserve(),
      () => false,
      () => undefined,
      (reserved) => reserved.release(),
    );

  return new Proxy(sql, {
    apply(target, thisArg, args: unknown[]) {
      const result: unknown = Reflect.apply(target, thisArg, args);
      // Tagged templates return queries; helper calls (`sql(values)`) return fragments.
      return isPendingQuery(result) ? bound(result) : result;
    },
    get(target, property, receiver) {
      if (property === 'unsafe') {
        return (...args: Parameters<Sql['unsafe']>) => bound(target.unsafe(...args) as unknown as PendingQuery);
      }
      if (property === 'begin') return begin;
      if (property === 'reserve') return reserve;
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}
