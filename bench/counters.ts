import type Redis from 'ioredis';
import type { Sql } from 'postgres';

/**
 * Server-side counters read before and after a workload: how many Redis commands and database
 * commits each request cost, how often PostgreSQL flushed its WAL to disk, and Redis's own CPU.
 * Together with the CPU columns they say where a request's time goes.
 */
export interface Counters {
  /** Script calls (EVALSHA), each one round trip from the service. */
  redisScripts: number;
  /** Every command Redis ran, those inside scripts included. */
  redisCommands: number;
  redisCpuSeconds: number;
  commits: number;
  walSyncs: number;
  walBytes: number;
}

export async function readCounters(sql: Sql, redis: Redis, databaseName: string): Promise<Counters> {
  const [commandStats, cpu] = await Promise.all([redis.info('commandstats'), redis.info('cpu')]);
  let redisCommands = 0;
  for (const match of commandStats.matchAll(/^cmdstat_[^:]+:calls=(\d+)/gm)) redisCommands += Number(match[1]);
  const redisScripts = Number(/^cmdstat_evalsha:calls=(\d+)/m.exec(commandStats)?.[1] ?? 0);
  const cpuField = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? 0);
  const [database] = await sql<{ commits: string }[]>`
    SELECT xact_commit::text AS commits FROM pg_stat_database WHERE datname = ${databaseName}`;
  const [wal] = await sql<{ syncs: string; bytes: string }[]>`SELECT wal_sync::text AS syncs, wal_bytes::text AS bytes FROM pg_stat_wal`;
  return {
    redisScripts,
    redisCommands,
    redisCpuSeconds: cpuField('used_cpu_sys') + cpuField('used_cpu_user'),
    commits: Number(database?.commits ?? 0),
    walSyncs: Number(wal?.syncs ?? 0),
    walBytes: Number(wal?.bytes ?? 0),
  };
}

export function countersBetween(before: Counters, after: Counters): Counters {
  return {
    redisScripts: after.redisScripts - before.redisScripts,
    redisCommands: after.redisCommands - before.redisCommands,
    redisCpuSeconds: after.redisCpuSeconds - before.redisCpuSeconds,
    commits: after.commits - before.commits,
    walSyncs: after.walSyncs - before.walSyncs,
    walBytes: after.walBytes - before.walBytes,
  };
}
