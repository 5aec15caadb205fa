import { defineConfig } from 'drizzle-kit';

// Only generation reads this file; the service applies migrations itself at start-up.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema/index.ts',
  out: './drizzle',
  strict: true,
  verbose: false,
});
