/** int8 values arrive from postgres.js as strings; money must convert exactly or not at all. */
export function toSafeInteger(value: string | number | bigint): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number)) throw new RangeError(`integer out of safe range: ${String(value)}`);
  return number;
}

/**
 * Timestamps from raw queries: drizzle installs string parsers on the shared postgres.js
 * client, so they arrive as PostgreSQL text ("2026-11-21 06:06:32.058+00", sessions run in UTC).
 */
export function toDate(value: Date | string): Date {
  if (value instanceof Date) return value;
  const date = new Date(value.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00'));
  if (Number.isNaN(date.getTime())) throw new RangeError(`not a timestamp: ${value}`);
  return date;
}

/**
 * The one row a statement always returns (an aggregate without GROUP BY, an INSERT ...
 * RETURNING of one row); its absence is a bug, reported as such rather than read as undefined.
 */
export function firstRow<Row>(rows: readonly Row[], statement: string): Row {
  const [row] = rows;
  if (row === undefined) throw new Error(`${statement} returned no row`);
  return row;
}
