/**
 * Schema fragments for `@ApiProperty`, so that every DTO states its types and limits the same
 * way and the OpenAPI document is as strict as the validation behind it (ADR 0043).
 */

/** Balances and totals are bigint in PostgreSQL and read back only while they are safe integers. */
export const SAFE_INTEGER_MAX = Number.MAX_SAFE_INTEGER;

/** The largest PostgreSQL integer (int4): versions and other counters stored as `integer`. */
export const INT32_MAX = 2_147_483_647;

/** Money in integer cents: a JSON integer, never a float or a string. */
export const CENTS = { type: 'integer', format: 'int64' } as const;

/** Counts of things (purchases, entries, authors). */
export const COUNT = { type: 'integer', format: 'int64', minimum: 0, maximum: SAFE_INTEGER_MAX } as const;

export const UUID_LENGTH = 36;
export const UUID = { type: String, format: 'uuid', maxLength: UUID_LENGTH } as const;

/** `toISOString()` gives 24 characters; a six-digit year with its sign would give 27. */
export const INSTANT_LENGTH_MAX = 30;
export const INSTANT = { type: String, format: 'date-time', maxLength: INSTANT_LENGTH_MAX } as const;

/** Messages written by the service for clients (a failed report's reason, a problem's detail). */
export const MESSAGE_LENGTH_MAX = 1000;
