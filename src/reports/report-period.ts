import { RequestValidationError } from '../common/errors/domain-errors';

/** Rollups are kept per UTC hour (see totals_add() in the money functions). */
export const BUCKET_MS = 3_600_000;
/** Author rollups are also kept per UTC day (author_daily_rollups). */
export const DAY_MS = 24 * BUCKET_MS;
/** The longest period one request may cover; it bounds how many rollup rows a report reads. */
export const REPORT_PERIOD_DAYS_MAX = 366;
const REPORT_PERIOD_MS_MAX = REPORT_PERIOD_DAYS_MAX * 24 * BUCKET_MS;

/**
 * ISO 8601 as clients send it: a date (UTC midnight) or a date-time with seconds, at most
 * millisecond precision and an explicit offset. A date-time without an offset is refused,
 * because it would silently mean the server's time zone.
 */
export const ISO_INSTANT_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(Z|[+-]\d{2}:\d{2}))?$/;

/** The instants a period may name: four-digit years, in UTC. */
const INSTANT_MIN_MS = Date.parse('0001-01-01T00:00:00.000Z');
const INSTANT_MAX_MS = Date.parse('9999-12-31T23:59:59.999Z');

/** A half-open interval [from, to) of instants. */
export interface Period {
  from: Date;
  to: Date;
}

/** How a period is read: whole hours from the rollups, at most two partial edges from the ledger. */
export interface PeriodSegments {
  /** [from, to) on hour boundaries, read from the rollups; null when no whole hour fits. */
  wholeBuckets: Period | null;
  /** Up to two sub-hour intervals, read from the ledger; each lies within one UTC hour. */
  edges: Period[];
}

/** How an hour-aligned range is read from author rollups: whole days, and the hours around them. */
export interface HourSegments {
  /** [from, to) on UTC day boundaries; null when no whole day fits. */
  wholeDays: Period | null;
  /** Up to two hour-aligned runs outside the whole days, each shorter than a day. */
  hours: Period[];
}

/** Parses one ISO 8601 instant; undefined when it is not one (including impossible dates). */
export function parseInstant(value: string): Date | undefined {
  const match = ISO_INSTANT_PATTERN.exec(value);
  if (!match) return undefined;
  const [, year, month, day, hour = '00', minute = '00', second = '00'] = match;
  const date = new Date(value.length === 10 ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(date.getTime())) return undefined;
  // An offset can carry 9999-12-31 into year 10000 (or 0001-01-01 into year 0), which neither
  // ISO 8601's four digits nor PostgreSQL accept.
  if (date.getTime() < INSTANT_MIN_MS || date.getTime() > INSTANT_MAX_MS) return undefined;
  // Date() rolls 2026-02-30 over to March; the calendar fields must survive unchanged.
  // setUTCFullYear, not Date.UTC: Date.UTC reads years 0 to 99 as 1900 to 1999.
  const calendar = new Date(0);
  calendar.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  calendar.setUTCHours(Number(hour), Number(minute), Number(second), 0);
  const valid =
    calendar.getUTCFullYear() === Number(year) &&
    calendar.getUTCMonth() === Number(month) - 1 &&
    calendar.getUTCDate() === Number(day) &&
    calendar.getUTCHours() === Number(hour) &&
    calendar.getUTCMinutes() === Number(minute) &&
    calendar.getUTCSeconds() === Number(second);
  return valid ? date : undefined;
}

/**
 * Turns optional `from`/`to` query or body values into a period, or null for "all time" when
 * both are absent and the caller allows it. Every problem is a 400 naming its field.
 */
export function parsePeriod(input: { from?: string | null; to?: string | null }, options: { required: true }): Period;
export function parsePeriod(input: { from?: string | null; to?: string | null }, options: { required: boolean }): Period | null;
export function parsePeriod(
  input: { from?: string | null; to?: string | null },
  { required }: { required: boolean },
): Period | null {
  const from = input.from ?? undefined;
  const to = input.to ?? undefined;
  if (from === undefined && to === undefined) {
    if (!required) return null;
    throw new RequestValidationError([
      { field: 'from', message: 'from is required' },
      { field: 'to', message: 'to is required' },
    ]);
  }
  if (from === undefined) throw new RequestValidationError([{ field: 'from', message: 'from is required when to is given' }]);
  if (to === undefined) throw new RequestValidationError([{ field: 'to', message: 'to is required when from is given' }]);
  const fromDate = parseInstant(from);
  if (!fromDate) throw new RequestValidationError([{ field: 'from', message: 'from must be an ISO 8601 date or date-time with an offset' }]);
  const toDate = parseInstant(to);
  if (!toDate) throw new RequestValidationError([{ field: 'to', message: 'to must be an ISO 8601 date or date-time with an offset' }]);
  return checkPeriod({ from: fromDate, to: toDate });
}

/** Order and length rules, shared by requests and by periods read back from storage. */
export function checkPeriod(period: Period): Period {
  if (period.from.getTime() >= period.to.getTime()) {
    throw new RequestValidationError([{ field: 'to', message: 'to must be later than from' }]);
  }
  if (period.to.getTime() - period.from.getTime() > REPORT_PERIOD_MS_MAX) {
    throw new RequestValidationError([
      { field: 'to', message: `the period from from to to must not exceed ${REPORT_PERIOD_DAYS_MAX} days` },
    ]);
  }
  return period;
}

/**
 * Splits [from, to) into whole UTC hours and the partial hours at its edges. A period inside
 * one hour is a single edge; a period on hour boundaries has no edges at all.
 */
export function periodSegments(period: Period): PeriodSegments {
  if (period.from.getTime() >= period.to.getTime()) throw new RangeError('period must have from < to');
  const { whole, parts } = splitAtUnits(period, BUCKET_MS);
  return { wholeBuckets: whole, edges: parts };
}

/**
 * Splits an hour-aligned [from, to) into whole UTC days and the runs of hours before and after
 * them, so a long period reads one author rollup row per day instead of one per hour.
 */
export function splitWholeDays(range: Period): HourSegments {
  const fromMs = range.from.getTime();
  const toMs = range.to.getTime();
  if (fromMs >= toMs || fromMs % BUCKET_MS !== 0 || toMs % BUCKET_MS !== 0) {
    throw new RangeError('range must be hour-aligned with from < to');
  }
  const { whole, parts } = splitAtUnits(range, DAY_MS);
  return { wholeDays: whole, hours: parts };
}

/**
 * [from, to) cut at multiples of `unitMs` (UTC hours or days): the aligned middle, null when no
 * whole unit fits, and the at most two parts outside it, each within one unit. A period that
 * crosses one boundary without a whole unit is two parts; one inside a unit is a single part.
 */
function splitAtUnits({ from, to }: Period, unitMs: number): { whole: Period | null; parts: Period[] } {
  const fromMs = from.getTime();
  const toMs = to.getTime();
  const firstWholeMs = Math.ceil(fromMs / unitMs) * unitMs;
  const lastWholeEndMs = Math.floor(toMs / unitMs) * unitMs;
  if (firstWholeMs > lastWholeEndMs) return { whole: null, parts: [{ from, to }] };
  const parts: Period[] = [];
  if (fromMs < firstWholeMs) parts.push({ from, to: new Date(firstWholeMs) });
  if (lastWholeEndMs < toMs) parts.push({ from: new Date(lastWholeEndMs), to });
  const whole = firstWholeMs < lastWholeEndMs ? { from: new Date(firstWholeMs), to: new Date(lastWholeEndMs) } : null;
  return { whole, parts };
}
