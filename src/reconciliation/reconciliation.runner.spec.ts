import { DRIFT_DETAILS_MAX, runChecks } from './reconciliation.runner';
import { CheckName, CheckStep, NOTHING_CHECKED, ReconciliationCheck } from './reconciliation.types';

// The runner reads nothing itself: these checks report made-up steps and need no context.
type Fake = ReconciliationCheck<string, null>;
const context = null;

/** A check that reports the given steps, one per statement, and describes a row by its id. */
function fakeCheck(names: readonly [CheckName, ...CheckName[]], steps: CheckStep<string>[]): Fake {
  return {
    names,
    async run(_context, report) {
      for (const step of steps) report(step);
    },
    describe: (id) => ({ check: names[0], key: { id }, before: { value: 1 }, expected: { value: 0 } }),
  };
}

const rows = (count: number, corrected: boolean, prefix = 'r') =>
  Array.from({ length: count }, (_, index) => ({ row: `${prefix}${index}`, corrected }));

describe('runChecks', () => {
  it('reports every checked figure, zero included, and nothing else for a clean run', async () => {
    const clean = fakeCheck(['hourly_rollups'], [{ checked: { hourlyBuckets: 24, rollupWindows: 1 }, found: {}, corrected: {}, drifts: [] }]);
    const outcome = await runChecks([clean, clean], context);
    expect(outcome).toEqual({
      checked: { ...NOTHING_CHECKED, hourlyBuckets: 48, rollupWindows: 2 },
      drifts: [],
      driftCount: 0,
      correctedCount: 0,
      driftsByCheck: {},
    });
  });

  it('counts drifts exactly beyond the details a statement read back, and corrections by check', async () => {
    const rollups = fakeCheck(
      ['hourly_rollups'],
      [
        { checked: { hourlyBuckets: 10 }, found: { hourly_rollups: 5 }, corrected: { hourly_rollups: 5 }, drifts: rows(2, true) },
        { checked: { hourlyBuckets: 10 }, found: { hourly_rollups: 0 }, corrected: {}, drifts: [] },
      ],
    );
    const wallets = fakeCheck(
      ['wallet_balances', 'wallet_carries', 'orphan_entries'],
      [{ checked: { wallets: 3 }, found: { wallet_balances: 2, wallet_carries: 1 }, corrected: { wallet_carries: 1 }, drifts: rows(1, false, 'w') }],
    );
    const outcome = await runChecks([rollups, wallets], context);
    expect(outcome.checked).toMatchObject({ hourlyBuckets: 20, wallets: 3 });
    expect(outcome.driftCount).toBe(8);
    expect(outcome.correctedCount).toBe(6);
    // Checks without drift are absent, not zero: the metrics add a series per check present.
    expect(outcome.driftsByCheck).toEqual({ hourly_rollups: 5, wallet_balances: 2, wallet_carries: 1 });
    expect(outcome.drifts.map((drift) => [drift.check, drift.key.id, drift.corrected])).toEqual([
      ['hourly_rollups', 'r0', true],
      ['hourly_rollups', 'r1', true],
      ['wallet_balances', 'w0', false],
    ]);
  });

  it('keeps the first DRIFT_DETAILS_MAX details in the order found', async () => {
    const many = fakeCheck(
      ['purchase_legs'],
      [
        { checked: { purchases: 1 }, found: { purchase_legs: 400 }, corrected: {}, drifts: rows(400, false, 'a') },
        { checked: { purchases: 1 }, found: { purchase_legs: 400 }, corrected: {}, drifts: rows(400, false, 'b') },
      ],
    );
    const outcome = await runChecks([many], context);
    expect(outcome.driftCount).toBe(800);
    expect(outcome.drifts).toHaveLength(DRIFT_DETAILS_MAX);
    expect(outcome.drifts.slice(399, 401).map((drift) => drift.key.id)).toEqual(['a399', 'b0']);
  });

  it('runs the checks in the order given, each to its end', async () => {
    const order: string[] = [];
    const tracing = (name: 'running_totals' | 'ledger_sum'): Fake => ({
      names: [name],
      async run(_context, report) {
        order.push(`${name}:start`);
        await Promise.resolve();
        report({ checked: {}, found: {}, corrected: {}, drifts: [] });
        order.push(`${name}:end`);
      },
      describe: (id) => ({ check: name, key: { id }, before: {}, expected: {} }),
    });
    await runChecks([tracing('running_totals'), tracing('ledger_sum')], context);
    expect(order).toEqual(['running_totals:start', 'running_totals:end', 'ledger_sum:start', 'ledger_sum:end']);
  });
});
