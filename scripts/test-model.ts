/**
 * `npm run test:model -- --runs N [--concurrent-runs C] [--seed S] [--max-commands M]
 * [--books command|sequence] [--progress FILE]`: the long profile of the model-based tests (ADR 0063), for nightly or pre-release runs. It runs the same
 * specs as `npm test` (test/e2e/model-*.e2e.spec.ts) with N serial sequences and C concurrent
 * scenarios (default N) instead of the quick budget, and prints what the sequences did, by
 * command and answer. A failure prints the seed and the shortest sequence that reproduces it;
 * replay it with `--seed`.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const RUNS_MAX = 1_000_000;

function parse(argv: string[]): Record<string, string> {
  const options: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const name = /^--(runs|concurrent-runs|seed|max-commands|books|progress)$/.exec(argv[i]!)?.[1];
    const value = argv[i + 1];
    if (!name || value === undefined) {
      console.error(`usage: npm run test:model -- --runs N [--concurrent-runs C] [--seed S] [--max-commands M] [--books command|sequence] [--progress FILE] (unexpected "${argv[i]}")`);
      process.exit(2);
    }
    options[name] = value;
    i++;
  }
  return options;
}

const options = parse(process.argv.slice(2));
const runs = Number(options.runs ?? '1000');
if (!Number.isInteger(runs) || runs < 1 || runs > RUNS_MAX) {
  console.error(`--runs must be an integer from 1 to ${RUNS_MAX}, got "${options.runs}"`);
  process.exit(2);
}

const concurrentRuns = Number(options['concurrent-runs'] ?? runs);
if (!Number.isInteger(concurrentRuns) || concurrentRuns < 1 || concurrentRuns > RUNS_MAX) {
  console.error(`--concurrent-runs must be an integer from 1 to ${RUNS_MAX}, got "${options['concurrent-runs']}"`);
  process.exit(2);
}

const env: NodeJS.ProcessEnv = { ...process.env, MODEL_RUNS: String(runs), MODEL_CONCURRENT_RUNS: String(concurrentRuns), MODEL_STATS: 'true' };
if (options.seed !== undefined) env.TEST_SEED = options.seed;
if (options['max-commands'] !== undefined) env.MODEL_MAX_COMMANDS = options['max-commands'];
// `sequence`: the serial mode checks the books at the end of each sequence instead of after
// every command (about a third faster); the default is every command, as in `npm test`.
if (options.books !== undefined && !['command', 'sequence'].includes(options.books)) {
  console.error(`--books must be command or sequence, got "${options.books}"`);
  process.exit(2);
}
if (options.books !== undefined) env.MODEL_BOOKS = options.books;
// A file the specs rewrite every 100 sequences with how far they got, for runs of hours.
if (options.progress !== undefined) env.MODEL_PROGRESS_FILE = path.resolve(options.progress);

const started = Date.now();
const jest = path.resolve(__dirname, '..', 'node_modules', '.bin', 'jest');
const result = spawnSync(jest, ['--selectProjects', 'e2e', '--runInBand', '--testPathPattern', 'test/e2e/model-'], { env, stdio: 'inherit' });
console.log(`model-based tests: ${runs} serial sequences and ${concurrentRuns} concurrent scenarios in ${((Date.now() - started) / 1000).toFixed(0)} s`);
process.exit(result.status ?? 1);
