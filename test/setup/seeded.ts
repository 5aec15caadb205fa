import fc from 'fast-check';

/**
 * One seed for every random workload in the tests, so that a failure replays: TEST_SEED when
 * set, else a fixed one (every run is then the same run). To explore other cases, run with
 * `TEST_SEED=<any integer>`; to replay a failure, run with the seed its message names.
 *
 * Importing this module also configures fast-check with the seed for the importing test file
 * (Jest gives each file its own module registry, so its own fast-check). fast-check prints the
 * seed and the path of a failing property; `replayable` adds the seed to any other failure.
 */
const DEFAULT_SEED = 20_260_301;

function readSeed(): number {
  const raw = process.env.TEST_SEED;
  if (raw === undefined || raw.trim() === '') return DEFAULT_SEED;
  const seed = Number(raw);
  // fast-check takes a 32-bit integer.
  if (!Number.isInteger(seed) || Math.abs(seed) > 2 ** 31 - 1) throw new Error(`TEST_SEED must be a 32-bit integer, got "${raw}"`);
  return seed;
}

export const TEST_SEED = readSeed();

fc.configureGlobal({ seed: TEST_SEED });

/**
 * A deterministic stand-in for Math.random (mulberry32): numbers in [0, 1), the same sequence
 * for the same seed. `stream` gives independent sequences to workloads that run side by side.
 */
export function seededRandom(stream = 0): () => number {
  let state = (TEST_SEED ^ Math.imul(stream + 1, 0x9e3779b9)) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** An integer in [min, max], drawn from `random`. */
export function randomInt(random: () => number, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

/** Runs a hand-written random workload; a failure's message names the seed that replays it. */
export async function replayable<T>(work: () => Promise<T> | T): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof Error) error.message = `${error.message}\n\nReplay with TEST_SEED=${TEST_SEED}`;
    throw error;
  }
}
