import { Logger } from '@nestjs/common';
import type { Sql } from 'postgres';

/** One observation of the primary: where its WAL stood at a moment. */
interface PrimaryPosition {
  atMs: number;
  lsn: bigint;
}

/** `X/Y` (pg_lsn as text) as one number. */
export function parseLsn(text: string): bigint {
  const [high, low] = text.split('/');
  return (BigInt(`0x${high}`) << 32n) + BigInt(`0x${low}`);
}

/**
 * How far behind the primary a standby's data is, bounded from above without trusting clocks
 * or commit timestamps: every probe reads the primary's WAL position, then the standby's replay
 * position. Once the standby has replayed what the primary had written at a moment t, its data
 * is at most (now - t) old. An idle primary writes no WAL, so an idle standby is as fresh as the
 * last probe, where `now() - pg_last_xact_replay_timestamp()` would call it ever later.
 *
 * A standby that answers as a primary (promoted) is current. Probes that fail, or a standby
 * behind every position still remembered, make the lag unknown: readers then use the primary.
 */
export class ReplicaLag {
  private readonly logger = new Logger(ReplicaLag.name);
  private readonly positions: PrimaryPosition[] = [];
  private lagMs: number | undefined;
  private measuredAtMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private probing = false;
  private wasUsable: boolean | undefined;

  constructor(
    private readonly primary: Sql,
    private readonly replica: Sql,
    readonly maxLagMs: number,
    readonly probeIntervalMs = Math.max(50, Math.min(250, Math.floor(maxLagMs / 4))),
  ) {}

  start(): void {
    this.timer ??= setInterval(() => void this.probe(), this.probeIntervalMs);
    this.timer.unref();
    void this.probe();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The last bound measured, if it is recent enough to trust (undefined: unknown). */
  currentLagMs(nowMs = Date.now()): number | undefined {
    if (this.lagMs === undefined) return undefined;
    const ageMs = nowMs - this.measuredAtMs;
    // A measurement ages with the clock: the data cannot have become fresher since.
    return ageMs > this.maxLagMs + 2 * this.probeIntervalMs ? undefined : this.lagMs + ageMs;
  }

  /** Whether a read may go to the replica now: its data is known to be at most maxLagMs old. */
  usable(nowMs = Date.now()): boolean {
    const lag = this.currentLagMs(nowMs);
    const usable = lag !== undefined && lag <= this.maxLagMs;
    if (usable !== this.wasUsable) {
      this.wasUsable = usable;
      this.logger.log(usable ? 'reads go to the replica' : `replica unusable (lag ${lag ?? 'unknown'} ms); reads go to the primary`);
    }
    return usable;
  }

  async probe(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      const atMs = Date.now();
      const [primaryRow] = await this.primary<{ lsn: string }[]>`SELECT pg_current_wal_lsn()::text AS lsn`;
      this.remember({ atMs, lsn: parseLsn(primaryRow!.lsn) });
      const [replicaRow] = await this.replica<{ lsn: string | null; recovering: boolean }[]>`
        SELECT pg_last_wal_replay_lsn()::text AS lsn, pg_is_in_recovery() AS recovering`;
      const measuredAtMs = Date.now();
      if (!replicaRow!.recovering) {
        this.record(0, measuredAtMs);
        return;
      }
      const replayed = replicaRow!.lsn === null ? undefined : parseLsn(replicaRow!.lsn);
      // The latest moment whose primary position the standby has replayed.
      let freshAtMs: number | undefined;
      for (const position of this.positions) {
        if (replayed !== undefined && position.lsn <= replayed) freshAtMs = position.atMs;
      }
      this.record(freshAtMs === undefined ? undefined : measuredAtMs - freshAtMs, measuredAtMs);
    } catch {
      this.record(undefined, Date.now());
    } finally {
      this.probing = false;
    }
  }

  private remember(position: PrimaryPosition): void {
    this.positions.push(position);
    // Positions older than the largest lag worth measuring say nothing a reader can use.
    const keepFromMs = position.atMs - 2 * this.maxLagMs - 4 * this.probeIntervalMs;
    while (this.positions.length > 1 && this.positions[0]!.atMs < keepFromMs) this.positions.shift();
  }

  private record(lagMs: number | undefined, atMs: number): void {
    this.lagMs = lagMs;
    this.measuredAtMs = atMs;
  }
}
