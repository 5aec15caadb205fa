import { DrizzleQueryError } from 'drizzle-orm/errors';
import { isDatabaseUnavailableError, isRetryableTransactionError, PgCode, pgErrorCode } from './postgres-errors';

/** An error shaped as postgres.js raises it: a SQLSTATE, or a connection code such as ECONNREFUSED. */
function driverError(code: string): Error {
  return Object.assign(new Error(`driver error ${code}`), { code });
}

describe('pgErrorCode', () => {
  it.each([
    ['a driver error', driverError(PgCode.deadlockDetected), PgCode.deadlockDetected],
    ['a Drizzle query error around it', new DrizzleQueryError('select 1', [], driverError('ECONNREFUSED')), 'ECONNREFUSED'],
    [
      'a wrapper around a Drizzle query error',
      new Error('outer', { cause: new DrizzleQueryError('select 1', [], driverError(PgCode.adminShutdown)) }),
      PgCode.adminShutdown,
    ],
    ['an error without a code', new Error('plain'), undefined],
    ['a Drizzle query error without a cause', new DrizzleQueryError('select 1', []), undefined],
    ['a code that is not a string', Object.assign(new Error('numeric'), { code: 42 }), undefined],
    ['a string', 'ECONNREFUSED', undefined],
    ['null', null, undefined],
  ])('reads %s', (_name, error, code) => {
    expect(pgErrorCode(error)).toBe(code);
  });

  it('gives up on a cycle of causes', () => {
    const first = new Error('first');
    const second = new Error('second', { cause: first });
    Object.assign(first, { cause: second });
    expect(pgErrorCode(first)).toBeUndefined();
  });

  it('classifies a lost connection and a deadlock under a Drizzle query as the driver errors are', () => {
    expect(isDatabaseUnavailableError(new DrizzleQueryError('select 1', [], driverError('CONNECTION_CLOSED')))).toBe(true);
    expect(isRetryableTransactionError(new DrizzleQueryError('update', [], driverError(PgCode.deadlockDetected)))).toBe(true);
    expect(isDatabaseUnavailableError(new DrizzleQueryError('select 1', [], driverError(PgCode.uniqueViolation)))).toBe(false);
  });
});

describe('isDatabaseUnavailableError: not the primary (ADR 0050)', () => {
  it.each([
    ['a write on a standby', PgCode.readOnlySqlTransaction],
    ['a server shutting down for a switchover', PgCode.adminShutdown],
    ['a crashed server', PgCode.crashShutdown],
    ['a server still starting or promoting', PgCode.cannotConnectNow],
    ['a connection failure', '08006'],
    ['PgBouncer waiting for its server (query_wait_timeout)', '08P01'],
  ])('%s is unavailable (503), not a 500', (_name, code) => {
    expect(isDatabaseUnavailableError(new DrizzleQueryError('select 1', [], driverError(code)))).toBe(true);
  });

  it('a constraint or a data error is not', () => {
    expect(isDatabaseUnavailableError(driverError('23514'))).toBe(false);
    expect(isDatabaseUnavailableError(driverError('22P02'))).toBe(false);
  });
});
