/**
 * The production-topology suite (ADR 0050-0054, 0055-0057): private PostgreSQL primary and
 * standbys, Patroni with etcd behind HAProxy, PgBouncer, Redis Sentinel and Cluster, each under
 * this suite's own temporary directory and ports, with the built service as child processes.
 * It never reconfigures the shared servers; `npm run test:topology` builds the service first.
 */
module.exports = {
  transform: { '^.+\\.(ts|js|mjs)$': ['@swc/jest'] },
  transformIgnorePatterns: ['/node_modules/(?!(content-disposition)/)'],
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  testMatch: ['<rootDir>/test/topology/**/*.spec.ts'],
  maxWorkers: 1,
  testTimeout: 300_000,
};
