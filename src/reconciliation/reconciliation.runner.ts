import {
  CHECKED_COUNTERS,
  CheckedCounts,
  CheckName,
  CheckStep,
  Drift,
  NOTHING_CHECKED,
  ReconciliationCheck,
  RunOutcome,
} from './reconciliation.types';

/** Stored drift details per run; the counts stay exact beyond it. */
export const DRIFT_DETAILS_MAX = 500;

/** Collects drifts with a bounded memory footprint: details up to a cap, counts always. */
class DriftLog {
  readonly details: Drift[] = [];
  readonly byCheck: Partial<Record<CheckName, number>> = {};
  count = 0;
  corrected = 0;

  detail(drift: Drift): void {
    if (this.details.length < DRIFT_DETAILS_MAX) this.details.push(drift);
  }

  /** Records `found` drifts of one check, `corrected` of which were written back. */
  tally(check: CheckName, found: number, corrected: number): void {
    if (found <= 0) return;
    this.count += found;
    this.corrected += corrected;
    this.byCheck[check] = (this.byCheck[check] ?? 0) + found;
  }
}

/**
 * Runs the declared checks in order and keeps the books of the run the same way for each: the
 * `checked` figures, exact drift and correction counts by check, and the first
 * DRIFT_DETAILS_MAX drifts in the order they were found.
 */
export async function runChecks<Context>(
  checks: readonly ReconciliationCheck<unknown, Context>[],
  context: Context,
): Promise<RunOutcome> {
  const log = new DriftLog();
  const checked: CheckedCounts = { ...NOTHING_CHECKED };
  for (const check of checks) {
    await check.run(context, (step: CheckStep<unknown>) => {
      for (const counter of CHECKED_COUNTERS) checked[counter] += step.checked[counter] ?? 0;
      for (const { row, corrected } of step.drifts) log.detail({ ...check.describe(row), corrected });
      for (const name of check.names) log.tally(name, step.found[name] ?? 0, step.corrected[name] ?? 0);
    });
  }
  return {
    checked,
    drifts: log.details,
    driftCount: log.count,
    correctedCount: log.corrected,
    driftsByCheck: log.byCheck,
  };
}
