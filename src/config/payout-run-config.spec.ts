import { ConfigValidationError, loadConfig } from './app-config';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigValidationError) return [...error.problems];
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

describe('PAYOUT_RUN_EVERY', () => {
  it('is unset by default: no scheduled payout runs', () => {
    expect(loadConfig({}).payoutRunEveryMs).toBeUndefined();
    expect(loadConfig({ PAYOUT_RUN_EVERY: '' }).payoutRunEveryMs).toBeUndefined();
  });

  it.each([
    ['1d', 86_400_000],
    ['12h', 43_200_000],
    ['30m', 1_800_000],
    ['90s', 90_000],
    ['5000', 5_000],
    ['1000ms', 1_000],
    ['31d', 31 * 86_400_000],
  ])('reads %j as %d ms', (value, everyMs) => {
    expect(loadConfig({ PAYOUT_RUN_EVERY: value }).payoutRunEveryMs).toBe(everyMs);
  });

  it.each(['daily', '1w', '-1h', '1.5h', '0', '999ms', '32d', '0 0 * * *'])('refuses %j naming the variable', (value) => {
    const problems = problemsOf({ PAYOUT_RUN_EVERY: value });
    expect(problems.map((problem) => problem.split(':')[0])).toEqual(['PAYOUT_RUN_EVERY']);
  });
});
