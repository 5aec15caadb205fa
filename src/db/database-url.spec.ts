import { assertWritable, DatabaseUrlError, describeTarget, driverOptions, parseDatabaseUrl, withDatabase } from './database-url';

describe('parseDatabaseUrl', () => {
  it('reads one host, the default port, credentials and parameters', () => {
    const target = parseDatabaseUrl('postgres://wallet:s%40cret@db.internal/wallet?sslmode=require&application_name=x');
    expect(target).toEqual({
      hosts: [{ host: 'db.internal', port: 5432 }],
      database: 'wallet',
      user: 'wallet',
      password: 's@cret',
      params: { sslmode: 'require', application_name: 'x' },
    });
  });

  it('reads several hosts, each with its port, in order (new URL refuses these)', () => {
    const url = 'postgresql://postgres@10.0.0.1:5432,10.0.0.2:5433,[::1]:6432/wallet?target_session_attrs=primary';
    expect(() => new URL(url)).toThrow();
    const target = parseDatabaseUrl(url);
    expect(target.hosts).toEqual([
      { host: '10.0.0.1', port: 5432 },
      { host: '10.0.0.2', port: 5433 },
      { host: '::1', port: 6432 },
    ]);
    expect(describeTarget(target)).toBe('10.0.0.1:5432,10.0.0.2:5433,[::1]:6432/wallet');
  });

  it('refuses several hosts where one has no port: a port written once belongs to the last host only', () => {
    expect(() => parseDatabaseUrl('postgres://u@h1,h2:6432/wallet')).toThrow(/h1 has none/);
  });

  it.each([
    ['not postgres', 'mysql://root@localhost/wallet', /must be postgres/],
    ['no host', 'postgres:///wallet', /no host/],
    ['no database', 'postgres://u@h:5432', /database name/],
    ['a name needing quotes', 'postgres://u@h:5432/bad%22name', /database name/],
    ['a port out of range', 'postgres://u@h:70000/wallet', /out of range/],
    ['an unknown session attribute', 'postgres://u@h/wallet?target_session_attrs=leader', /target_session_attrs/],
  ])('refuses %s', (_name, url, message) => {
    expect(() => parseDatabaseUrl(url)).toThrow(DatabaseUrlError);
    expect(() => parseDatabaseUrl(url)).toThrow(message);
  });

  it('a writing target may not ask for a standby', () => {
    expect(() => assertWritable(parseDatabaseUrl('postgres://u@h:1,g:2/w?target_session_attrs=standby'))).toThrow(/cannot take writes/);
    expect(() => assertWritable(parseDatabaseUrl('postgres://u@h:1,g:2/w?target_session_attrs=read-write'))).not.toThrow();
  });
});

describe('driverOptions', () => {
  const target = parseDatabaseUrl('postgres://u:p@h1:5432,h2:5433/wallet?target_session_attrs=read-write&sslmode=require&search_path=x');

  it('gives every host its own port, and a writing pool asks for the primary, whatever the URL said', () => {
    const options = driverOptions(target, 'primary');
    expect(options).toMatchObject({
      host: ['h1', 'h2'],
      port: [5432, 5433],
      database: 'wallet',
      user: 'u',
      pass: 'p',
      ssl: 'require',
      target_session_attrs: 'primary',
      connection: { search_path: 'x' },
    });
  });

  it('takes driver option names out of the startup parameters, as postgres.js does with a URL string', () => {
    const options = driverOptions(parseDatabaseUrl('postgres://u@h/w?connect_timeout=10&max=3&sslrootcert=system&options=-c%20jit%3Doff'), 'primary');
    expect(options.connection).toEqual({ options: '-c jit=off' });
    expect(options.ssl).toBe('verify-full');
  });

  it('a non-writing pool keeps what the URL asked for', () => {
    const replica = parseDatabaseUrl('postgres://u@h1:5432,h2:5433/wallet?target_session_attrs=prefer-standby');
    expect(driverOptions(replica, 'any').target_session_attrs).toBe('prefer-standby');
    expect(driverOptions(parseDatabaseUrl('postgres://u@h/w?target_session_attrs=any'), 'any').target_session_attrs).toBeUndefined();
  });

  it('withDatabase keeps the servers', () => {
    expect(withDatabase(target, 'postgres')).toMatchObject({ database: 'postgres', hosts: target.hosts });
  });
});
