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
