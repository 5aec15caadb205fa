// Writes docs/openapi.json from the application's own decorators; `--check` fails if the
// committed file differs (CI runs it so the document never drifts from the code).
import { NestFactory } from '@nestjs/core';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { AppModule } from '../src/app.module';
import { createFastifyAdapter } from '../src/app.factory';
import { loadConfig } from '../src/config/app-config';
import { buildOpenApiDocument } from '../src/swagger';

const OUTPUT = path.resolve(__dirname, '..', 'docs', 'openapi.json');

async function main(): Promise<void> {
  // Preview mode builds the module graph without instantiating providers: no connections.
  const app = await NestFactory.create(AppModule.register(loadConfig({ LOG_LEVEL: 'silent' })), createFastifyAdapter(), {
    preview: true,
    logger: false,
    abortOnError: false,
  });
  const document = `${JSON.stringify(buildOpenApiDocument(app), null, 2)}\n`;
  await app.close();
  if (process.argv.includes('--check')) {
    const committed = readFileSync(OUTPUT, 'utf8');
    if (committed !== document) {
      process.stderr.write('docs/openapi.json is out of date: run `npm run openapi` and commit the result\n');
      process.exit(1);
    }
    process.stdout.write('docs/openapi.json is up to date\n');
    return;
  }
  writeFileSync(OUTPUT, document);
  process.stdout.write(`wrote ${path.relative(process.cwd(), OUTPUT)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
