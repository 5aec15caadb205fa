import postgres from 'postgres';
import { TEMPLATE_ENV, TEST_POSTGRES_URL } from './test-env';

export default async function globalTeardown(): Promise<void> {
  const name = process.env[TEMPLATE_ENV];
  if (!name) return;
  const sql = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => undefined });
  try {
    await sql.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await sql.end();
  }
}
