import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Database } from '../db/database';
import { toSafeInteger } from '../db/sql-values';
import { everyInterval } from '../queue/lost-jobs';

/**
 * Postings since a wallet's last snapshot that make it due for the next (ADR 0068). A balance at
 * an instant reads at most about this many of the wallet's postings past its snapshot (plus what
 * came in since the last sweep), about a millisecond of index range here, while snapshots stay a
 * thousandth of the ledger's rows.
 */
export const SNAPSHOT_EVERY_POSTINGS = 1_000;
/** Snapshots per sweep: each transaction stays short (each reads about SNAPSHOT_EVERY_POSTINGS postings), the rest are due next time. */
export const SNAPSHOTS_PER_SWEEP = 200;
/** The longest stretch of the ledger one sweep counts: a first sweep of a large ledger catches up a day at a time. */
export const SWEEP_WINDOW = '1 day';
/**
 * Sweeps start this often in each worker; the row lock lets one run at a time. Between sweeps a
 * busy wallet gains postings past its snapshot, so this bounds the read too.
 */
export const SNAPSHOT_SWEEP_INTERVAL_MS = 10_000;
/** Sweeps in a row while more is due, before waiting for the next interval. */
const SWEEPS_PER_ROUND_MAX = 100;

export interface SweepOutcome {
  /** False when another worker was sweeping. */
  swept: boolean;
  asOf: Date | null;
  walletsCounted: number;
  snapshotsTaken: number;
  more: boolean;
}

/** Position snapshots (ADR 0068): the sweep that writes them. Reads are WalletsRepository.positionAt. */
@Injectable()
export class PositionSnapshotsRepository {
  constructor(private readonly database: Database) {}

  /** One sweep (wallet_position_snapshots_sweep), in a transaction of its own. */
  async sweepOnce(options: { minPostings?: number; maxSnapshots?: number; maxWindow?: string } = {}): Promise<SweepOutcome> {
    const [row] = await this.database.sql<
      { swept: boolean; as_of: Date | null; wallets_counted: string; snapshots_taken: number; more: boolean }[]
    >`
      SELECT swept, as_of, wallets_counted::text, snapshots_taken, more
        FROM wallet_position_snapshots_sweep(
          p_min_postings => ${options.minPostings ?? SNAPSHOT_EVERY_POSTINGS},
          p_max_snapshots => ${options.maxSnapshots ?? SNAPSHOTS_PER_SWEEP},
          p_max_window => ${options.maxWindow ?? SWEEP_WINDOW}::interval)`;
    return {
      swept: row!.swept,
      asOf: row!.as_of === null ? null : new Date(row!.as_of),
      walletsCounted: toSafeInteger(row!.wallets_counted),
      snapshotsTaken: row!.snapshots_taken,
      more: row!.more,
    };
  }

  /** Sweeps until nothing is due and the fence is reached (or SWEEPS_PER_ROUND_MAX). */
  async sweep(options: { minPostings?: number; maxSnapshots?: number; maxWindow?: string } = {}): Promise<{ snapshotsTaken: number }> {
    let snapshotsTaken = 0;
    for (let round = 0; round < SWEEPS_PER_ROUND_MAX; round += 1) {
      const outcome = await this.sweepOnce(options);
      snapshotsTaken += outcome.snapshotsTaken;
      if (!outcome.swept || !outcome.more) break;
    }
    return { snapshotsTaken };
  }
}

/**
 * Takes position snapshots every SNAPSHOT_SWEEP_INTERVAL_MS in worker roles. Every worker tries;
 * the sweep row's lock lets one through and the others return at once. The sweep's state is in
 * PostgreSQL, so a restart resumes where the last sweep ended.
 */
@Injectable()
export class PositionSnapshotsSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(PositionSnapshotsSweeper.name);
  private stop: (() => void) | undefined;

  constructor(private readonly repository: PositionSnapshotsRepository) {}

  onApplicationBootstrap(): void {
    this.stop = everyInterval(
      SNAPSHOT_SWEEP_INTERVAL_MS,
      async () => {
        const { snapshotsTaken } = await this.repository.sweep();
        if (snapshotsTaken > 0) this.logger.debug({ snapshotsTaken }, 'position snapshots taken');
      },
      (error) => this.logger.debug({ err: error instanceof Error ? error.message : String(error) }, 'position snapshot sweep skipped'),
    );
  }

  onApplicationShutdown(): void {
    this.stop?.();
  }
}
