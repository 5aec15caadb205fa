import { uuidAt } from './reconciliation-incremental';
import { PositionCursor, PositionSnapshotCheck } from './reconciliation.repository';
import { ReconciliationCheck } from './reconciliation.types';

const UUID_MIN = '00000000-0000-0000-0000-000000000000';
const UUID_MAX = 'ffffffff-ffff-ffff-ffff-ffffffffffff';
/** Snapshots per statement: each spans at most about SNAPSHOT_EVERY_POSTINGS postings of its wallet. */
const SNAPSHOT_CHUNK_SIZE = 200;

/**
 * Position snapshots (ADR 0068) against the ledger: each one's balance, carry and posting count
 * must be what its wallet's postings and royalty rows up to its instant give. A wrong one is
 * deleted, always (a cache, like the rollups): balance?at= then starts from the one before it.
 * Full run: every snapshot. Incremental run: the snapshots of the wallets in the sweep's slice,
 * so a sweep cycle covers them all.
 */
export const positionSnapshots: ReconciliationCheck<PositionSnapshotCheck> = {
  names: ['position_snapshots'],
  async run(context, report) {
    const scope = context.scope?.kind === 'incremental' ? context.scope : undefined;
    let from = UUID_MIN;
    let upTo = UUID_MAX;
    if (scope) {
      const sliceEnd = uuidAt(scope.slice.to);
      if (sliceEnd === undefined || scope.slice.to <= scope.slice.from) return;
      from = uuidAt(scope.slice.from) ?? UUID_MIN;
      upTo = sliceEnd;
    }
    // Past every snapshot of the wallet `from` itself, which belongs to the slice before.
    let cursor: PositionCursor = { walletId: from, asOf: scope ? 'infinity' : '-infinity', balanceCents: 0, carryCentiCents: 0, postings: 0 };
    for (;;) {
      const rows = await context.repository.checkPositionSnapshots({ cursor, upTo, limit: SNAPSHOT_CHUNK_SIZE });
      const drifted = rows.filter((row) => !sameFigures(row));
      report({
        checked: { positionSnapshots: rows.length },
        found: { position_snapshots: drifted.length },
        corrected: { position_snapshots: drifted.filter((row) => row.removed).length },
        drifts: drifted.map((row) => ({ row, corrected: row.removed })),
      });
      const last = rows[rows.length - 1];
      if (rows.length < SNAPSHOT_CHUNK_SIZE || !last) return;
      cursor = {
        walletId: last.walletId,
        asOf: last.asOf.toISOString(),
        balanceCents: last.ledger.balance,
        carryCentiCents: last.ledger.fractionalBalance,
        postings: last.ledger.postings,
      };
    }
  },
  describe: (row) => ({
    check: 'position_snapshots',
    key: { walletId: row.walletId, asOf: row.asOf.toISOString() },
    before: { ...row.kept },
    expected: { ...row.ledger },
  }),
};

function sameFigures(row: PositionSnapshotCheck): boolean {
  return (
    row.kept.balance === row.ledger.balance &&
    row.kept.fractionalBalance === row.ledger.fractionalBalance &&
    row.kept.postings === row.ledger.postings
  );
}
