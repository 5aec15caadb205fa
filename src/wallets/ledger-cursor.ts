import { RequestValidationError } from '../common/errors/domain-errors';

/** Where a ledger page starts: strictly older than this posting, in (createdAt, id) order. */
export interface LedgerCursor {
  id: number;
  /**
   * The posting's time: bounds the page's partitions (ADR 0027). Absent only in cursors issued
   * before the ledger was partitioned, whose posting is then looked up by id.
   */
  createdAt?: Date;
}

/** Opaque to clients: the id and time (epoch milliseconds) of the last posting of the previous page. */
export function encodeLedgerCursor(last: { id: number; createdAt: Date }): string {
  return Buffer.from(`e${last.id}.${last.createdAt.getTime()}`).toString('base64url');
}

export function decodeLedgerCursor(cursor: string): LedgerCursor {
  const match = /^e(\d{1,18})(?:\.(\d{1,15}))?$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  const id = match ? Number(match[1]) : NaN;
  const createdAtMs = match?.[2] === undefined ? undefined : Number(match[2]);
  const createdAt = createdAtMs === undefined ? undefined : new Date(createdAtMs);
  if (!Number.isSafeInteger(id) || (createdAt !== undefined && Number.isNaN(createdAt.getTime()))) {
    throw new RequestValidationError([{ field: 'cursor', message: 'cursor must be a nextCursor returned by this endpoint' }]);
  }
  return createdAt === undefined ? { id } : { id, createdAt };
}
