/**
 * The fault-injection suite: private PostgreSQL and Redis servers, the built service as child
 * processes, faults injected while clients run. It never touches the shared servers, so it
 * needs no global setup; `npm run test:faults` builds the service first.
 */
module.exports = {
  transform: { '^.+\\.(ts|js|mjs)$': ['@swc/jest'] },
  transformIgnorePatterns: ['/node_modules/(?!(content-disposition)/)'],
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  testMatch: ['<rootDir>/test/faults/**/*.spec.ts'],
  maxWorkers: 1,
  testTimeout: 240_000,
};
