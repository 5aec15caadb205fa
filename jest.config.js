/**
 * Three tiers: unit specs beside the code (pure logic), integration specs on real PostgreSQL
 * and Redis, e2e specs over HTTP. Integration and e2e files each get their own database,
 * cloned from a template that the global setup migrates once.
 */
const transform = { '^.+\\.(ts|js|mjs)$': ['@swc/jest'] };
const common = {
  transform,
  // ESM-only dependencies (Node requires them natively; Jest needs them compiled to CommonJS).
  transformIgnorePatterns: ['/node_modules/(?!(content-disposition)/)'],
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
};

module.exports = {
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
  maxWorkers: 2,
  testTimeout: 60_000,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.spec.ts'],
    },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.spec.ts'] },
    // Every operation and documented status, judged by docs/openapi.json (ADR 0043).
    { ...common, displayName: 'contract', testMatch: ['<rootDir>/test/contract/**/*.spec.ts'] },
    // Swagger UI driven by headless Chromium (/usr/bin/chromium; .ci/run installs it).
    { ...common, displayName: 'browser', testMatch: ['<rootDir>/test/browser/**/*.spec.ts'] },
  ],
};
