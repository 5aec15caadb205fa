import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * The Node.js flags `npm start` runs `dist/main.js` with (package.json's start script): the one
 * place they are written (ADR 0070). `npm run node:check` holds the Dockerfile's CMD to them and
 * `npm run bench` starts the service with them. Undefined when the script does not run
 * `node [flags] dist/main.js`.
 */
export function serviceStartFlags(root: string): string[] | undefined {
  const { scripts } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const flags = /\bnode((?: --[\w-]+(?:=\S+)?)*) dist\/main\.js/.exec(scripts.start)?.[1];
  return flags?.split(' ').filter((flag) => flag !== '');
}
