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
  /** Set by `cancel()`; a connection skips a query that has it. */
  cancelled: unknown;
  /** What postgres.js builds the statement from when a connection takes the query. */
  tagged: boolean;
  strings: readonly string[];
  args: unknown[];
  options: Record<string, unknown>;
}

/** What a withdrawn query runs instead if a connection still takes it: reads nothing, writes nothing. */
const NEUTRAL_STATEMENT = 'select 1';

/**
 * Withdraws a query that never reached a connection: its caller gets the rejection at once.
 *
 * postgres.js 3.4.9 hands a waiting query straight to a connection it is opening (the attempt's
 * "initial" query) without keeping it in its queue. `cancel()` only takes a query out of the
 * queue and marks it cancelled; when that attempt later succeeds (the server is back), the
 * connection skips the cancelled query and, having sent nothing, never reports itself ready: it
 * sits in the pool's connecting state until max_lifetime (30 to 60 min) ends it. After a silent
 * outage every pool slot could end up so, and the pool answered 503 for minutes (ADR 0054).
 * So the withdrawn query is kept runnable, but as a statement that does nothing: if it was such
 * an initial query, the new connection runs it, its answer goes nowhere (the promise is settled),
 * and the connection joins the pool like any other. A query that was in the queue is gone from
 * it and never runs at all.
 */
function withdraw(query: PendingQuery): void {
  query.tagged = false;
  query.strings = [NEUTRAL_STATEMENT];
  query.args = [];
  query.options = { simple: true, prepare: false };
  query.cancel();
  query.cancelled = null;
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
 * after `waitMs` is withdrawn before it was sent (`withdraw`) and fails with
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
          withdraw(query);
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
