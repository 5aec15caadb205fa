import type { Options } from 'postgres';

/** One server of a connection string, in the order the driver tries them. */
export interface DatabaseHost {
  host: string;
  port: number;
}

/**
 * A `postgres://` connection string taken apart, with one host or several
 * (`postgres://user@h1:5432,h2:5432/wallet?target_session_attrs=primary`). WHATWG `new URL`
 * refuses a host list, so the service never parses these with it.
 */
export interface DatabaseTarget {
  hosts: DatabaseHost[];
  database: string;
  user: string | undefined;
  password: string | undefined;
  /** Query parameters, decoded; `sslmode` and `target_session_attrs` are read, the rest are startup parameters. */
  params: Record<string, string>;
}

export class DatabaseUrlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatabaseUrlError';
  }
}

const DEFAULT_PORT = 5432;
const DATABASE_NAME = /^[A-Za-z0-9_-]{1,63}$/;
/** Values of target_session_attrs that can never accept a write. */
const READ_ONLY_SESSION_ATTRS = new Set(['read-only', 'standby', 'prefer-standby']);
const SESSION_ATTRS = new Set(['any', 'read-write', 'primary', ...READ_ONLY_SESSION_ATTRS]);

function parseHost(text: string): { host: string; port: number | undefined } {
  // [v6-address]:port, or name-or-v4:port; the port is optional here and checked by the caller.
  const match = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(text);
  if (!match) throw new DatabaseUrlError(`host "${text}" is not host or host:port`);
  const port = match[2] === undefined ? undefined : Number(match[2]);
  if (port !== undefined && (port < 1 || port > 65_535)) throw new DatabaseUrlError(`port ${port} is out of range`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port };
}

/**
 * Parses a PostgreSQL URL with one or several hosts. With several hosts every host must name
 * its port: postgres.js (like libpq) gives a port written once, `h1,h2:6432`, only to the last
 * host and silently sends the others to 5432, which is not what anyone writing that meant.
 */
export function parseDatabaseUrl(url: string): DatabaseTarget {
  const match = /^postgres(?:ql)?:\/\/(?:([^@/?#]*)@)?([^/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?$/.exec(url);
  if (!match) throw new DatabaseUrlError('must be postgres://[user[:password]@]host[:port][,host:port...]/database[?parameters]');
  const [, credentials, hostList = '', path = '', query = ''] = match;
  if (hostList === '') throw new DatabaseUrlError('names no host');
  const parsed = hostList.split(',').map((entry) => parseHost(decodeURIComponent(entry.trim())));
  if (parsed.length > 1) {
    const withoutPort = parsed.filter((entry) => entry.port === undefined).map((entry) => entry.host);
    if (withoutPort.length > 0) {
      throw new DatabaseUrlError(
        `with several hosts every host needs its own port (h1:5432,h2:5432); ${withoutPort.join(', ')} has none ` +
          '(a port written once applies to the last host only, the others would get 5432)',
      );
    }
  }
  const database = decodeURIComponent(path);
  if (!DATABASE_NAME.test(database)) {
    throw new DatabaseUrlError(`database name "${database}" must be 1 to 63 characters of [A-Za-z0-9_-]`);
  }
  let user: string | undefined;
  let password: string | undefined;
  if (credentials !== undefined && credentials !== '') {
    const colon = credentials.indexOf(':');
    user = decodeURIComponent(colon === -1 ? credentials : credentials.slice(0, colon));
    password = colon === -1 ? undefined : decodeURIComponent(credentials.slice(colon + 1));
  }
  const params: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(query)) params[key] = value;
  const attrs = params.target_session_attrs;
  if (attrs !== undefined && !SESSION_ATTRS.has(attrs)) {
    throw new DatabaseUrlError(`target_session_attrs "${attrs}" is not one of ${[...SESSION_ATTRS].join(', ')}`);
  }
  return {
    hosts: parsed.map(({ host, port }) => ({ host, port: port ?? DEFAULT_PORT })),
    database,
    user,
    password,
    params,
  };
}

/** Refuses a target whose target_session_attrs would send the service's writes to a standby. */
export function assertWritable(target: DatabaseTarget): void {
  const attrs = target.params.target_session_attrs;
  if (attrs !== undefined && READ_ONLY_SESSION_ATTRS.has(attrs)) {
    throw new DatabaseUrlError(`target_session_attrs=${attrs} cannot take writes; use primary (or leave it out)`);
  }
}

/** The same servers, another database (the maintenance database `postgres`, for instance). */
export function withDatabase(target: DatabaseTarget, database: string): DatabaseTarget {
  return { ...target, database };
}

/** For logs and error messages: hosts and database, never the password. */
export function describeTarget(target: DatabaseTarget): string {
  const hosts = target.hosts.map(({ host, port }) => `${host.includes(':') ? `[${host}]` : host}:${port}`).join(',');
  return `${hosts}/${target.database}`;
}

/** postgres.js option names that its URL parsing takes out of the query string. */
const DRIVER_OPTION_NAMES = new Set([
  'max', 'ssl', 'sslnegotiation', 'idle_timeout', 'connect_timeout', 'max_lifetime', 'max_pipeline',
  'backoff', 'keep_alive', 'prepare', 'debug', 'fetch_types', 'publications',
]);

export type SessionRole = 'primary' | 'any';
type DriverSessionAttrs = Options<Record<string, never>>['target_session_attrs'];

/**
 * postgres.js options for a target. `role: 'primary'` is what every writing pool uses: a
 * connection is kept only on a server that is not in recovery. postgres.js's `read-write`
 * looks at default_transaction_read_only, which a PostgreSQL 15 standby reports as `off`, so
 * after a failover it stays on the old primary once that returns as a standby and every write
 * fails with 25006; `primary` looks at in_hot_standby (or pg_is_in_recovery()) and moves on.
 * `read-write` and `any` in the URL therefore become `primary` for a writing pool.
 */
export function driverOptions(target: DatabaseTarget, role: SessionRole): Options<Record<string, never>> {
  const { sslmode: mode, sslrootcert, target_session_attrs: attrs, ...rest } = target.params;
  // As postgres.js reads a URL string: its own option names are not startup parameters (the
  // pool's options are the service's), and sslrootcert=system means verify-full.
  const startupParameters = Object.fromEntries(Object.entries(rest).filter(([key]) => !DRIVER_OPTION_NAMES.has(key)));
  const sslmode = sslrootcert === 'system' ? 'verify-full' : (mode ?? rest.ssl);
  return {
    host: target.hosts.map(({ host }) => host) as unknown as string,
    port: target.hosts.map(({ port }) => port) as unknown as number,
    database: target.database,
    ...(target.user !== undefined ? { user: target.user } : {}),
    ...(target.password !== undefined ? { pass: target.password } : {}),
    ...(sslmode !== undefined && sslmode !== 'disable' ? { ssl: sslmode as Options<Record<string, never>>['ssl'] } : {}),
    target_session_attrs:
      role === 'primary' ? 'primary' : attrs === undefined || attrs === 'any' ? undefined : (attrs as DriverSessionAttrs),
    connection: startupParameters,
  };
}
