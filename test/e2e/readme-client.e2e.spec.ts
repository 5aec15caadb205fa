import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { startTestApp, TestApp } from '../setup/test-app';

/**
 * The README's typed-client program, as an integrator pastes it: copied beside client/ into a
 * project of its own, compiled by tsc with `moduleResolution: nodenext`, run by Node against a
 * real instance. The client is also compiled as CommonJS under nodenext.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

function readmeExample(): string {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!);
  const example = blocks.find((block) => block.startsWith('// example.mts'));
  if (!example) throw new Error('README.md has no ```ts block starting with "// example.mts"');
  return example;
}

/** A throwaway project under test-artifacts/ (ignored by git), so that node_modules/@types resolve. */
function project(packageType: 'module' | 'commonjs', files: Record<string, string>): string {
  const dir = path.join(ROOT, 'test-artifacts', `client-${packageType}-${randomBytes(4).toString('hex')}`);
  fs.mkdirSync(path.join(dir, 'client'), { recursive: true });
  for (const file of ['index.ts', 'schema.d.ts']) fs.copyFileSync(path.join(ROOT, 'client', file), path.join(dir, 'client', file));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ private: true, type: packageType }));
  fs.writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        strict: true,
        types: ['node'],
        outDir: 'out',
        rootDir: '.',
      },
      files: Object.keys(files),
    }),
  );
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

function compile(dir: string): void {
  try {
    execFileSync(process.execPath, [TSC, '-p', dir], { cwd: dir, encoding: 'utf8' });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`tsc failed in ${path.relative(ROOT, dir)}:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

describe("the README's typed-client example (e2e)", () => {
  let t: TestApp;
  const dirs: string[] = [];

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('compiles under nodenext as an ES module and runs: the purchase lands once', async () => {
    const dir = project('module', { 'example.mts': readmeExample() });
    dirs.push(dir);
    compile(dir);
    // Asynchronously: the service under test answers from this process's event loop.
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(dir, 'out', 'example.mjs')], {
      cwd: dir,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', WALLET_BASE_URL: t.baseUrl },
    });
    // 70% of 1999 cents is 1399.3: the author gets 1399 and a carry of 30 centi-cents.
    expect(stdout.trim()).toBe('1399 false');
  });

  it('compiles under nodenext as CommonJS', () => {
    const consumer = [
      "import { createClient, type ApiResult, type ProblemDetails } from './client/index.js';",
      "export const api = createClient({ baseUrl: 'http://localhost:3000' });",
      'export type Failure = Extract<ApiResult<unknown>, { ok: false }>;',
      "export const code = (problem: ProblemDetails): string => problem.code;",
      '',
    ].join('\n');
    const dir = project('commonjs', { 'consumer.ts': consumer });
    dirs.push(dir);
    compile(dir);
    expect(fs.existsSync(path.join(dir, 'out', 'client', 'index.js'))).toBe(true);
  });
});
