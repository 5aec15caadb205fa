import { SweepCycle } from './reconciliation-incremental.repository';
import { CHANGE_MARGIN_MS, dayAt, entryIdAt, planIncremental, uuidAt, uuidBefore, windowsOf } from './reconciliation-incremental';

const DAY_MS = 24 * 3_600_000;
const cycle: SweepCycle = {
  id: 'c',
  startedAt: new Date('2026-11-01T00:00:00.000Z'),
  periodMs: DAY_MS,
  sweptFraction: 0.25,
  entryIdMin: 101,
  entryIdMax: 200,
  firstDay: new Date('2026-10-01T00:00:00.000Z'),
  lastDay: new Date('2026-10-10T00:00:00.000Z'),
};

describe('incremental reconciliation scope', () => {
  it('reads changes from the last clean run less the margin, never further back than one period', () => {
    const now = new Date(cycle.startedAt.getTime() + DAY_MS / 2);
    const recent = planIncremental({ now, lastCleanStartedAt: new Date(now.getTime() - 600_000), cycle });
    expect(recent.changedSince.getTime()).toBe(now.getTime() - 600_000 - CHANGE_MARGIN_MS);
    expect(recent.checkpointThrough.getTime()).toBe(now.getTime() - CHANGE_MARGIN_MS);
    expect(planIncremental({ now, lastCleanStartedAt: undefined, cycle }).changedSince.getTime()).toBe(now.getTime() - DAY_MS);
    expect(planIncremental({ now, lastCleanStartedAt: new Date(0), cycle }).changedSince.getTime()).toBe(now.getTime() - DAY_MS);
  });

  it('takes the slice of the cycle the clock says is due, from where the last run stopped', () => {
    const at = (fraction: number) => new Date(cycle.startedAt.getTime() + fraction * DAY_MS);
    expect(planIncremental({ now: at(0.5), lastCleanStartedAt: undefined, cycle }).slice).toMatchObject({ from: 0.25, to: 0.5 });
    // Ahead of the clock (several runs in a row): nothing more is due yet.
    expect(planIncremental({ now: at(0.1), lastCleanStartedAt: undefined, cycle }).slice).toMatchObject({ from: 0.25, to: 0.25 });
    // Late (runs were missed): the rest of the cycle, never beyond it.
    expect(planIncremental({ now: at(3), lastCleanStartedAt: undefined, cycle }).slice).toMatchObject({ from: 0.25, to: 1 });
  });

  it('maps fractions onto uuids, entry ids and days, covering each key space once', () => {
    expect(uuidAt(0)).toBeUndefined();
    expect(uuidAt(1)).toBe('ffffffff-ffff-ffff-ffff-ffffffffffff');
    expect(uuidAt(0.5)).toBe('80000000-0000-0000-0000-000000000000');
    expect(uuidAt(0.25)! < uuidAt(0.5)!).toBe(true);
    expect(uuidBefore('80000000-0000-0000-0000-000000000000')).toBe('7fffffff-ffff-ffff-ffff-ffffffffffff');
    expect(uuidBefore('00000000-0000-0000-0000-000000000000')).toBeUndefined();
    expect(entryIdAt(cycle, 0)).toBe(101);
    expect(entryIdAt(cycle, 0.5)).toBe(151);
    expect(entryIdAt(cycle, 1)).toBe(201);
    expect(entryIdAt({ ...cycle, entryIdMin: undefined, entryIdMax: undefined }, 0.5)).toBeUndefined();
    expect(dayAt(cycle, 0)).toEqual(cycle.firstDay);
    expect(dayAt(cycle, 0.5)).toEqual(new Date('2026-10-06T00:00:00.000Z'));
    expect(dayAt(cycle, 1)).toEqual(new Date('2026-10-11T00:00:00.000Z'));
  });

  it('cuts a span into aligned windows of at most a day', () => {
    const from = new Date('2026-11-01T10:20:00.000Z');
    const hours = windowsOf('hour', from, new Date('2026-11-02T12:05:00.000Z'));
    expect(hours.map((w) => [w.from.toISOString(), w.to.toISOString()])).toEqual([
      ['2026-11-01T10:00:00.000Z', '2026-11-02T10:00:00.000Z'],
      ['2026-11-02T10:00:00.000Z', '2026-11-02T13:00:00.000Z'],
    ]);
    const days = windowsOf('day', from, new Date('2026-11-02T12:05:00.000Z'));
    expect(days.map((w) => [w.from.toISOString(), w.to.toISOString()])).toEqual([
      ['2026-11-01T00:00:00.000Z', '2026-11-02T00:00:00.000Z'],
      ['2026-11-02T00:00:00.000Z', '2026-11-03T00:00:00.000Z'],
    ]);
  });
});
