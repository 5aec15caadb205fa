import { RequestValidationError } from '../common/errors/domain-errors';

/**
 * A position in the event feed: the writing transaction's id and the event's insert sequence
 * (ADR 0030). Opaque to clients; `0.0` is before every event.
 */
export interface FeedPosition {
  /** xid8 as a decimal string (64-bit). */
  xid: string;
  /** bigint as a decimal string. */
  seq: string;
}

export const FEED_START: FeedPosition = Object.freeze({ xid: '0', seq: '0' });

/** What a cursor looks like to a client: base64url, at most this long. */
export const EVENT_CURSOR_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const EVENT_CURSOR_LENGTH_MAX = 64;
const POSITION = /^p([0-9]{1,20})\.([0-9]{1,19})$/;
const XID8_MAX = 18_446_744_073_709_551_615n;
const BIGINT_MAX = 9_223_372_036_854_775_807n;

export function encodeEventCursor(position: FeedPosition): string {
  return Buffer.from(`p${position.xid}.${position.seq}`).toString('base64url');
}

export function decodeEventCursor(cursor: string, field = 'after'): FeedPosition {
  const match = EVENT_CURSOR_PATTERN.test(cursor) ? POSITION.exec(Buffer.from(cursor, 'base64url').toString('utf8')) : null;
  if (!match || BigInt(match[1]!) > XID8_MAX || BigInt(match[2]!) > BIGINT_MAX) {
    throw new RequestValidationError([{ field, message: `${field} must be a nextCursor returned by GET /events` }]);
  }
  // Canonical decimal form (no leading zeros), as PostgreSQL prints them.
  return { xid: BigInt(match[1]!).toString(), seq: BigInt(match[2]!).toString() };
}
