import { RequestValidationError } from '../common/errors/domain-errors';
import type { WithdrawalPosition } from './payouts.repository';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Opaque to clients: the (createdAt, id) of the last withdrawal of the previous page. */
export function encodeWithdrawalCursor(last: WithdrawalPosition): string {
  return Buffer.from(`${last.createdAt.getTime()}|${last.id}`).toString('base64url');
}

export function decodeWithdrawalCursor(cursor: string): WithdrawalPosition {
  const [millis, id, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(Number(millis));
  if (rest.length > 0 || !/^\d{1,15}$/.test(millis ?? '') || Number.isNaN(createdAt.getTime()) || !UUID_PATTERN.test(id ?? '')) {
    throw new RequestValidationError([{ field: 'cursor', message: 'cursor must be a nextCursor returned by this endpoint' }]);
  }
  return { createdAt, id: id! };
}
