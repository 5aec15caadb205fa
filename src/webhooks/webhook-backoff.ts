/** No retry is spaced further apart than this. */
export const RETRY_DELAY_MAX_MS = 12 * 3_600_000;
const GROWTH = 4;

/**
 * The wait before the next attempt after `failedAttempts` failed ones (1 = the first failed):
 * base * 4^(n-1), capped at 12 hours, with jitter that keeps 50 to 100% of it, so that
 * receivers coming back are not hit by every sender at once. With the default 30 s base and
 * 8 attempts: within 30 s, 2, 8 and 32 minutes, about 2 and 8.5 hours, then 12 hours: at most
 * about 23 hours in all (ADR 0032).
 */
export function retryDelayMs(failedAttempts: number, baseMs: number, random: () => number = Math.random): number {
  const exponent = Math.max(0, failedAttempts - 1);
  const full = Math.min(baseMs * GROWTH ** exponent, RETRY_DELAY_MAX_MS);
  return Math.round(full * (0.5 + 0.5 * random()));
}
