import { RequestValidationError } from '../common/errors/domain-errors';
import { replayable, seededRandom } from '../../test/setup/seeded';
import { DAY_MS, parseInstant, parsePeriod, periodSegments, REPORT_PERIOD_DAYS_MAX, splitWholeDays } from './report-period';

const at = (iso: string) => new Date(iso);
const iso = (period: { from: Date; to: Date } | null) =>
  period && { from: period.from.toISOString(), to: period.to.toISOString() };

/** The parts are non-empty, do not overlap and leave no gap between fromMs and toMs. */
function expectExactCover(periods: { from: Date; to: Date }[], fromMs: number, toMs: number) {
  const parts = periods.map((p) => [p.from.getTime(), p.to.getTime()] as const).sort((a, b) => a[0] - b[0]);
  expect(parts[0]![0]).toBe(fromMs);
  expect(parts[parts.length - 1]![1]).toBe(toMs);
  for (let k = 1; k < parts.length; k++) expect(parts[k]![0]).toBe(parts[k - 1]![1]);
  for (const [start, end] of parts) expect(end).toBeGreaterThan(start);
}

function fieldsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    if (error instanceof RequestValidationError) return (error.extra.errors ?? []).map((e) => e.field);
    throw error;
  }
  throw new Error('expected a validation error');
}

describe('parseInstant', () => {
  it.each([
    ['2026-03-01', '2026-03-01T00:00:00.000Z'],
    ['2026-03-01T10:00:00Z', '2026-03-01T10:00:00.000Z'],
    ['2026-03-01T10:59:59.999Z', '2026-03-01T10:59:59.999Z'],
    ['2026-03-01T12:00:00.5+02:00', '2026-03-01T10:00:00.500Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ['0050-01-01', '0050-01-01T00:00:00.000Z'],
    ['9999-12-31T23:59:59.999Z', '9999-12-31T23:59:59.999Z'],
  ])('accepts %s as %s', (value, expected) => {
    expect(parseInstant(value)?.toISOString()).toBe(expected);
  });

  it.each([
    'yesterday',
    '',
    '2026-03-01T10:00:00',
    '2026-03-01T10:00Z',
    '2026-02-30',
    '2025-02-29T00:00:00Z',
    '2026-13-01',
    '2026-03-01T24:00:00Z',
    '2026-03-01T10:00:00.1234Z',
    '1772359200000',
    // Valid calendar fields whose offset leaves four-digit years (PostgreSQL refused them: a 500).
    '9999-12-31T23:30:00-01:00',
    '0001-01-01T00:30:00+01:00',
    '0000-06-01',
  ])('refuses %j', (value) => {
    expect(parseInstant(value)).toBeUndefined();
  });
});

describe('parsePeriod', () => {
  it('is all time when both are absent and the period is optional', () => {
    expect(parsePeriod({}, { required: false })).toBeNull();
    expect(parsePeriod({ from: null, to: null }, { required: false })).toBeNull();
  });

  it('names the missing or bad field', () => {
    expect(fieldsOf(() => parsePeriod({}, { required: true }))).toEqual(['from', 'to']);
    expect(fieldsOf(() => parsePeriod({ to: '2026-03-01' }, { required: false }))).toEqual(['from']);
    expect(fieldsOf(() => parsePeriod({ from: '2026-03-01' }, { required: false }))).toEqual(['to']);
    expect(fieldsOf(() => parsePeriod({ from: 'x', to: '2026-03-01' }, { required: false }))).toEqual(['from']);
    expect(fieldsOf(() => parsePeriod({ from: '2026-03-01', to: '2026-02-30' }, { required: false }))).toEqual(['to']);
  });

  it('refuses from >= to and periods longer than the maximum', () => {
    expect(fieldsOf(() => parsePeriod({ from: '2026-03-01', to: '2026-03-01' }, { required: true }))).toEqual(['to']);
    expect(fieldsOf(() => parsePeriod({ from: '2026-03-02', to: '2026-03-01' }, { required: true }))).toEqual(['to']);
    const from = at('2025-01-01T00:00:00Z');
    const limit = new Date(from.getTime() + REPORT_PERIOD_DAYS_MAX * 86_400_000);
    expect(iso(parsePeriod({ from: from.toISOString(), to: limit.toISOString() }, { required: true }))).toEqual(
      iso({ from, to: limit }),
    );
    const over = new Date(limit.getTime() + 1);
    expect(fieldsOf(() => parsePeriod({ from: from.toISOString(), to: over.toISOString() }, { required: true }))).toEqual([
      'to',
    ]);
  });
});

describe('periodSegments', () => {
  it('reads a period on hour boundaries from rollups only', () => {
    const segments = periodSegments({ from: at('2026-03-01T10:00:00Z'), to: at('2026-03-01T13:00:00Z') });
    expect(iso(segments.wholeBuckets)).toEqual({ from: '2026-03-01T10:00:00.000Z', to: '2026-03-01T13:00:00.000Z' });
    expect(segments.edges).toEqual([]);
  });

  it('reads the partial hours at both edges from the ledger', () => {
    const segments = periodSegments({ from: at('2026-03-01T10:15:00.250Z'), to: at('2026-03-01T13:00:00.001Z') });
    expect(iso(segments.wholeBuckets)).toEqual({ from: '2026-03-01T11:00:00.000Z', to: '2026-03-01T13:00:00.000Z' });
    expect(segments.edges.map(iso)).toEqual([
      { from: '2026-03-01T10:15:00.250Z', to: '2026-03-01T11:00:00.000Z' },
      { from: '2026-03-01T13:00:00.000Z', to: '2026-03-01T13:00:00.001Z' },
    ]);
  });

  it('splits two adjacent partial hours without any whole bucket', () => {
    const segments = periodSegments({ from: at('2026-03-01T10:30:00Z'), to: at('2026-03-01T11:30:00Z') });
    expect(segments.wholeBuckets).toBeNull();
    expect(segments.edges.map(iso)).toEqual([
      { from: '2026-03-01T10:30:00.000Z', to: '2026-03-01T11:00:00.000Z' },
      { from: '2026-03-01T11:00:00.000Z', to: '2026-03-01T11:30:00.000Z' },
    ]);
  });

  it('reads a period inside one hour as a single edge', () => {
    const segments = periodSegments({ from: at('2026-03-01T10:59:59.999Z'), to: at('2026-03-01T11:00:00.000Z') });
    expect(segments.wholeBuckets).toBeNull();
    expect(segments.edges.map(iso)).toEqual([{ from: '2026-03-01T10:59:59.999Z', to: '2026-03-01T11:00:00.000Z' }]);
    const inner = periodSegments({ from: at('2026-03-01T10:10:00Z'), to: at('2026-03-01T10:20:00Z') });
    expect(inner.edges.map(iso)).toEqual([{ from: '2026-03-01T10:10:00.000Z', to: '2026-03-01T10:20:00.000Z' }]);
  });

  it('covers every millisecond exactly once, for arbitrary periods', () =>
    replayable(() => {
      const random = seededRandom(1);
      for (let i = 0; i < 500; i++) {
        const fromMs = Date.UTC(2026, 0, 1) + Math.floor(random() * 5 * 3_600_000);
        const toMs = fromMs + 1 + Math.floor(random() * 4 * 3_600_000);
        const { wholeBuckets, edges } = periodSegments({ from: new Date(fromMs), to: new Date(toMs) });
        expectExactCover([...edges, ...(wholeBuckets ? [wholeBuckets] : [])], fromMs, toMs);
        for (const edge of edges) {
          expect(Math.floor(edge.from.getTime() / 3_600_000)).toBe(Math.floor((edge.to.getTime() - 1) / 3_600_000));
        }
        if (wholeBuckets) {
          expect(wholeBuckets.from.getTime() % 3_600_000).toBe(0);
          expect(wholeBuckets.to.getTime() % 3_600_000).toBe(0);
        }
      }
    }));
});

describe('splitWholeDays', () => {
  it('reads whole UTC days from daily rollups and the hours around them from hourly ones', () => {
    const split = splitWholeDays({ from: at('2026-03-01T21:00:00Z'), to: at('2026-03-04T02:00:00Z') });
    expect(iso(split.wholeDays)).toEqual({ from: '2026-03-02T00:00:00.000Z', to: '2026-03-04T00:00:00.000Z' });
    expect(split.hours.map(iso)).toEqual([
      { from: '2026-03-01T21:00:00.000Z', to: '2026-03-02T00:00:00.000Z' },
      { from: '2026-03-04T00:00:00.000Z', to: '2026-03-04T02:00:00.000Z' },
    ]);
  });

  it('keeps a range without a whole day in hours, split at midnight', () => {
    const split = splitWholeDays({ from: at('2026-03-01T01:00:00Z'), to: at('2026-03-02T23:00:00Z') });
    expect(split.wholeDays).toBeNull();
    expect(split.hours.map(iso)).toEqual([
      { from: '2026-03-01T01:00:00.000Z', to: '2026-03-02T00:00:00.000Z' },
      { from: '2026-03-02T00:00:00.000Z', to: '2026-03-02T23:00:00.000Z' },
    ]);
    const inner = splitWholeDays({ from: at('2026-03-01T10:00:00Z'), to: at('2026-03-01T12:00:00Z') });
    expect(inner.wholeDays).toBeNull();
    expect(inner.hours.map(iso)).toEqual([{ from: '2026-03-01T10:00:00.000Z', to: '2026-03-01T12:00:00.000Z' }]);
  });

  it('has no hours for a range on day boundaries', () => {
    const split = splitWholeDays({ from: at('2026-03-01T00:00:00Z'), to: at('2026-03-31T00:00:00Z') });
    expect(iso(split.wholeDays)).toEqual({ from: '2026-03-01T00:00:00.000Z', to: '2026-03-31T00:00:00.000Z' });
    expect(split.hours).toEqual([]);
  });

  it('refuses a range off the hour', () => {
    expect(() => splitWholeDays({ from: at('2026-03-01T00:30:00Z'), to: at('2026-03-02T00:00:00Z') })).toThrow(RangeError);
  });

  it('covers every hour exactly once, for arbitrary hour-aligned ranges', () =>
    replayable(() => {
      const random = seededRandom(2);
      for (let i = 0; i < 500; i++) {
        const fromMs = Date.UTC(2026, 0, 1) + Math.floor(random() * 72) * 3_600_000;
        const toMs = fromMs + (1 + Math.floor(random() * 120)) * 3_600_000;
        const { wholeDays, hours } = splitWholeDays({ from: new Date(fromMs), to: new Date(toMs) });
        expectExactCover([...hours, ...(wholeDays ? [wholeDays] : [])], fromMs, toMs);
        for (const run of hours) expect(run.to.getTime() - run.from.getTime()).toBeLessThan(DAY_MS);
        if (wholeDays) {
          expect(wholeDays.from.getTime() % DAY_MS).toBe(0);
          expect(wholeDays.to.getTime() % DAY_MS).toBe(0);
        }
      }
    }));
});
