/**
 * Polls `check` every 25 ms until it returns a value, and returns it; fails naming `what` after
 * `timeoutMs`. For work the service does in the background (webhook attempts, sweeps).
 */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`never happened: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
