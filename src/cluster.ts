import { Logger } from '@nestjs/common';
import cluster, { Worker } from 'node:cluster';

/** More crashes than this within the window means something is wrong that restarting won't fix. */
const RESTARTS_MAX = 5;
const RESTART_WINDOW_MS = 60_000;

/**
 * The primary of `HTTP_WORKERS` > 1: forks the workers (each a full service process sharing the
 * listening port through node:cluster), replaces one that dies, and on SIGTERM/SIGINT passes
 * the signal on and exits 0 once every worker drained and exited 0.
 */
export function runClusterPrimary(workers: number, shutdownTimeoutMs: number): void {
  const logger = new Logger('Cluster');
  const restarts: number[] = [];
  let stopping = false;

  const fork = (): Worker => cluster.fork();
  for (let i = 0; i < workers; i++) fork();

  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    const now = Date.now();
    restarts.push(now);
    while (restarts.length > 0 && restarts[0]! < now - RESTART_WINDOW_MS) restarts.shift();
    logger.error({ pid: worker.process.pid, code, signal }, 'worker died; starting a replacement');
    if (restarts.length > RESTARTS_MAX) {
      logger.error(`${restarts.length} worker deaths within ${RESTART_WINDOW_MS} ms; giving up`);
      process.exit(1);
    }
    fork();
  });

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal} received, draining ${Object.keys(cluster.workers ?? {}).length} workers`);
    setTimeout(() => {
      logger.error(`workers did not exit within ${shutdownTimeoutMs} ms`);
      process.exit(1);
    }, shutdownTimeoutMs + 1_000).unref();
    let failed = false;
    const live = Object.values(cluster.workers ?? {}).filter((worker): worker is Worker => worker !== undefined);
    let remaining = live.length;
    if (remaining === 0) process.exit(0);
    for (const worker of live) {
      worker.once('exit', (code, exitSignal) => {
        // A worker still starting has no handler yet and simply ends by the signal: also clean.
        failed ||= !(code === 0 || exitSignal === signal);
        remaining -= 1;
        if (remaining === 0) process.exit(failed ? 1 : 0);
      });
      worker.process.kill(signal);
    }
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
