import { RequestValidationError } from '../common/errors/domain-errors';

/** Opaque to clients: the id of the last posting of the previous page. */
export function encodeLedgerCursor(lastEntryId: number): string {
  return Buffer.from(`e${lastEntryId}`).toString('base64url');
}

export function decodeLedgerCursor(cursor: string): number {
  const match = /^e(\d{1,18})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  const id = match ? Number(match[1]) : NaN;
  if (!Number.isSafeInteger(id)) {
    throw new RequestValidationError([{ field: 'cursor', message: 'cursor must be a nextCursor returned by this endpoint' }]);
  }
  return id;
}
