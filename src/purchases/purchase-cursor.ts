import { RequestValidationError } from '../common/errors/domain-errors';

/** Opaque to clients: the creation instant (epoch milliseconds) and id of the last purchase of the previous page. */
export function encodePurchaseCursor(last: { createdAt: Date; id: string }): string {
  return Buffer.from(`p${last.createdAt.getTime()}.${last.id}`).toString('base64url');
}

const CURSOR_TEXT = /^p(\d{1,15})\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

export function decodePurchaseCursor(cursor: string): { createdAt: Date; id: string } {
  const match = CURSOR_TEXT.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  const createdAt = match ? new Date(Number(match[1])) : undefined;
  if (!match || !createdAt || Number.isNaN(createdAt.getTime())) {
    throw new RequestValidationError([{ field: 'cursor', message: 'cursor must be a nextCursor returned by this endpoint' }]);
  }
  return { createdAt, id: match[2]! };
}
