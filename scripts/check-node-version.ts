/**
 * `npm run node:check` (CI runs it): the supported Node.js version is one truth (ADR 0044).
 * package.json `engines.node` (`>=MAJOR.MINOR`) is the source; this fails, naming each place,
 * when a dependency in package-lock.json asks for more than that minimum, when the Dockerfile
 * builds or runs on another major, when the README states another minimum, or when the Node.js
 * release that .ci/run falls back to does not satisfy it. The service's V8 flags are one truth
 * too (ADR 0070): the Dockerfile's CMD must start `dist/main.js` with those of `npm start`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import semver from 'semver';
import { serviceStartFlags } from './service-flags';

const ROOT = path.resolve(__dirname, '..');
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

const problems: string[] = [];
const engines = (JSON.parse(read('package.json')) as { engines?: { node?: string } }).engines?.node ?? '';
const match = /^>=(\d+)\.(\d+)$/.exec(engines);
if (!match) {
  console.error(`package.json engines.node must read ">=MAJOR.MINOR", found "${engines}"`);
  process.exit(1);
}
const [, major, minor] = match;
const minimum = `${major}.${minor}.0`;

// Every installed package must accept the minimum we promise (npm only warns, EBADENGINE).
const lock = JSON.parse(read('package-lock.json')) as {
  packages: Record<string, { engines?: { node?: string } | string[]; optional?: boolean }>;
};
for (const [location, entry] of Object.entries(lock.packages)) {
  const range = entry.engines && !Array.isArray(entry.engines) ? entry.engines.node : undefined;
  if (!location || !range || !semver.validRange(range)) continue;
  if (!semver.satisfies(minimum, range)) problems.push(`${location.replace(/^.*node_modules\//, '')} needs node ${range}`);
}

const images = [...read('Dockerfile').matchAll(/^FROM node:(\d+)[-.:\s]/gm)].map((found) => found[1]);
if (images.length === 0 || images.some((image) => image !== major)) {
  problems.push(`Dockerfile: every FROM must be node:${major}-..., found ${images.join(', ') || 'none'}`);
}

const promise = `Node.js ${major}.${minor} or later`;
if (!read('README.md').includes(promise)) problems.push(`README.md: does not say "${promise}"`);

const ciVersion = /^NODE_CI_VERSION=(\S+)$/m.exec(read('.ci/run'))?.[1];
if (!ciVersion || !semver.satisfies(ciVersion, engines)) {
  problems.push(`.ci/run: NODE_CI_VERSION (${ciVersion ?? 'missing'}) must satisfy ${engines}`);
}

const startFlags = serviceStartFlags(ROOT)?.join(' ');
const cmd = /^CMD (\[.*\])$/m.exec(read('Dockerfile'))?.[1];
const cmdFlags = cmd ? (JSON.parse(cmd) as string[]).slice(1, -1).join(' ') : undefined;
if (startFlags === undefined || cmdFlags !== startFlags) {
  problems.push(`Dockerfile: CMD must run node ${startFlags ?? '(no flags found in npm start)'} dist/main.js, found ${cmd ?? 'none'}`);
}

if (problems.length > 0) {
  console.error(`Node.js version drift (package.json engines.node is "${engines}"):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  process.exit(1);
}
console.log(`Node.js ${engines}: package-lock.json, Dockerfile, README.md and .ci/run agree; service flags: ${startFlags}`);
