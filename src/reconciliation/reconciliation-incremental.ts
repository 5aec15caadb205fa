import type { SweepCycle } from './reconciliation-incremental.repository';

/**
 * Incremental reconciliation (ADR 0028), the pure part: what a run covers, and where a fraction
 * of the sweep falls in each key space. Wallet, purchase and refund ids are random (version 4)
 * uuids, so a fraction of the uuid space holds that fraction of the rows; entry ids and days are
 * spread over the bounds the cycle fixed when it started.
 */

/**
 * How long a money transaction can stay open at most, with room to spare: postings stamped
 * before `now - margin` are all committed (their transactions took `now()` when they began, and
 * statement and idle timeouts end any transaction long before).
 */
export const CHANGE_MARGIN_MS = 5 * 60_000;

const UUID_MAX = 'ffffffff-ffff-ffff-ffff-ffffffffffff';
const DAY_MS = 24 * 3_600_000;
const HOUR_MS = 3_600_000;

export interface IncrementalScope {
  kind: 'incremental';
  /** Everything made at or after this instant is checked as a change. */
  changedSince: Date;
  /** Wallet checkpoints move to this instant. */
  checkpointThrough: Date;
  now: Date;
  /** The slice of the sweep's cycle due now, as fractions of every key space. */
  slice: { from: number; to: number; cycle: SweepCycle };
}

/**
 * A full run: everything. It also leaves every wallet a checkpoint at `checkpointThrough`, from
 * which the following incremental runs start.
 */
export interface FullScope {
  kind: 'full';
  checkpointThrough?: Date;
}

/** What a run covers: everything, or what changed plus a slice of the rolling sweep. */
export type RunScope = FullScope | IncrementalScope;

/** The scope of a full run at `now`. */
export function planFull(now: Date, changeMarginMs = CHANGE_MARGIN_MS): FullScope {
  return { kind: 'full', checkpointThrough: new Date(now.getTime() - changeMarginMs) };
}

/**
 * The scope of an incremental run at `now`: changes since the last clean run (less the margin),
 * never further back than one sweep period, which the sweep covers anyway; and the slice of the
 * cycle that the clock says is due, so that the cycle ends within its period.
 */
export function planIncremental(params: {
  now: Date;
  lastCleanStartedAt: Date | undefined;
  cycle: SweepCycle;
  changeMarginMs?: number;
}): IncrementalScope {
  const { now, cycle } = params;
  const marginMs = params.changeMarginMs ?? CHANGE_MARGIN_MS;
  const floor = now.getTime() - cycle.periodMs;
  const since = Math.max(floor, (params.lastCleanStartedAt?.getTime() ?? floor) - marginMs);
  const due = Math.min(1, Math.max(0, (now.getTime() - cycle.startedAt.getTime()) / cycle.periodMs));
  return {
    kind: 'incremental',
    changedSince: new Date(since),
    checkpointThrough: new Date(now.getTime() - marginMs),
    now,
    slice: { from: cycle.sweptFraction, to: Math.max(cycle.sweptFraction, due), cycle },
  };
}

/** The uuid at `fraction` of the uuid space: undefined at 0 (before every id), the largest at 1. */
export function uuidAt(fraction: number): string | undefined {
  if (fraction <= 0) return undefined;
  if (fraction >= 1) return UUID_MAX;
  // 48 bits of resolution: slices far finer than any real run needs.
  const hex = Math.floor(fraction * 2 ** 48)
    .toString(16)
    .padStart(12, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-0000-0000-000000000000`;
}

/** The uuid just before `id`, so that (uuidBefore(id), id] is `id` alone. */
export function uuidBefore(id: string): string | undefined {
  const value = BigInt(`0x${id.replace(/-/g, '')}`);
  if (value === 0n) return undefined;
  const hex = (value - 1n).toString(16).padStart(32, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The entry id at `fraction` of the cycle's range; past the range's end at 1. */
export function entryIdAt(cycle: SweepCycle, fraction: number): number | undefined {
  if (cycle.entryIdMin === undefined || cycle.entryIdMax === undefined) return undefined;
  const span = cycle.entryIdMax - cycle.entryIdMin + 1;
  return cycle.entryIdMin + Math.floor(Math.min(1, Math.max(0, fraction)) * span);
}

/** The day at `fraction` of the cycle's days (whole UTC days); the day after the last at 1. */
export function dayAt(cycle: SweepCycle, fraction: number): Date | undefined {
  if (!cycle.firstDay || !cycle.lastDay) return undefined;
  const days = Math.round((cycle.lastDay.getTime() - cycle.firstDay.getTime()) / DAY_MS) + 1;
  return new Date(cycle.firstDay.getTime() + Math.floor(Math.min(1, Math.max(0, fraction)) * days) * DAY_MS);
}

/** Windows of at most one day covering [from, to), aligned to `grain`. */
export function windowsOf(grain: 'hour' | 'day', from: Date, to: Date): { from: Date; to: Date }[] {
  const unit = grain === 'hour' ? HOUR_MS : DAY_MS;
  const start = Math.floor(from.getTime() / unit) * unit;
  const end = Math.ceil(to.getTime() / unit) * unit;
  const windows: { from: Date; to: Date }[] = [];
  for (let at = start; at < end; at += DAY_MS) windows.push({ from: new Date(at), to: new Date(Math.min(end, at + DAY_MS)) });
  return windows;
}
