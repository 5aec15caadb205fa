import { nextPayoutPeriodStartMs, payoutPeriodStartMs, scheduledPayoutRunKey, slotOfJobId } from './payout-schedule';

const DAY_MS = 86_400_000;

describe('payout schedule periods', () => {
  it('maps any instant of a period to its start, aligned to the Unix epoch', () => {
    const midnight = Date.parse('2026-11-29T00:00:00.000Z');
    expect(payoutPeriodStartMs(midnight, DAY_MS)).toBe(midnight);
    expect(payoutPeriodStartMs(midnight + DAY_MS - 1, DAY_MS)).toBe(midnight);
    expect(nextPayoutPeriodStartMs(midnight, DAY_MS)).toBe(midnight + DAY_MS);
    expect(nextPayoutPeriodStartMs(midnight + 1, DAY_MS)).toBe(midnight + DAY_MS);
  });

  it('names a period by its start', () => {
    expect(scheduledPayoutRunKey(Date.parse('2026-11-29T00:00:00.000Z'))).toBe('schedule:2026-11-29T00:00:00.000Z');
  });

  it('reads the slot of a scheduler job id, and nothing from other ids', () => {
    expect(slotOfJobId('repeat:payout-run-every:1764374400000')).toBe(1_764_374_400_000);
    expect(slotOfJobId('0c5c0c3e-1f9b-4b4e-9f57-2b9d2bdb8f21')).toBeUndefined();
    expect(slotOfJobId(undefined)).toBeUndefined();
  });
});
