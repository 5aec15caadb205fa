import { Logger } from '@nestjs/common';
import { closeWorkerWithin, JobsInFlight, WorkerErrorLog } from './worker-shutdown';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((settle) => {
    resolve = settle;
  });
  return { promise, resolve };
}

function recordingLogger(): Logger & { warns: unknown[]; debugs: unknown[] } {
  const logger = Object.assign(new Logger('test'), { warns: [] as unknown[], debugs: [] as unknown[] });
  logger.warn = (message: unknown) => void logger.warns.push(message);
  logger.debug = (message: unknown) => void logger.debugs.push(message);
  return logger;
}

describe('JobsInFlight', () => {
  it('is idle at once with no job, and when the last running job settles', async () => {
    const jobs = new JobsInFlight();
    expect(await jobs.whenIdle(0)).toBe(true);

    const first = deferred();
    const second = deferred();
    const running = [jobs.track(() => first.promise), jobs.track(() => second.promise.then(() => Promise.reject(new Error('job failed'))))];
    const idle = jobs.whenIdle(60_000);
    first.resolve();
    second.resolve();
    await expect(running[1]).rejects.toThrow('job failed');
    expect(await idle).toBe(true);
  });

  it('gives up waiting after the timeout while a job still runs', async () => {
    const jobs = new JobsInFlight();
    const stuck = deferred();
    const running = jobs.track(() => stuck.promise);
    expect(await jobs.whenIdle(1)).toBe(false);
    stuck.resolve();
    await running;
    expect(await jobs.whenIdle(0)).toBe(true);
  });
});

describe('closeWorkerWithin', () => {
  it('waits for running jobs, then closes the worker without its unbounded wait (forced)', async () => {
    const jobs = new JobsInFlight();
    const job = deferred();
    const running = jobs.track(() => job.promise);
    const calls: (boolean | undefined)[] = [];
    const worker = { name: 'reports', close: async (force?: boolean) => void calls.push(force) };

    const closing = closeWorkerWithin(worker, jobs, { drainTimeoutMs: 60_000, logger: recordingLogger() });
    await Promise.resolve();
    expect(calls).toEqual([]);
    job.resolve();
    await running;
    await closing;
    expect(calls).toEqual([true]);
  });

  it('closes anyway, and says so, when a job outlives the drain timeout', async () => {
    const jobs = new JobsInFlight();
    void jobs.track(() => new Promise<void>(() => undefined));
    const calls: (boolean | undefined)[] = [];
    const logger = recordingLogger();
    await closeWorkerWithin({ name: 'reports', close: async (force?: boolean) => void calls.push(force) }, jobs, { drainTimeoutMs: 1, logger });
    expect(calls).toEqual([true]);
    expect(logger.warns).toHaveLength(1);
  });
});

describe('WorkerErrorLog', () => {
  it('warns once per distinct message and sends repeats to debug', () => {
    const logger = recordingLogger();
    const errors = new WorkerErrorLog('reports', logger);
    errors.report(new Error("READONLY You can't write against a read only replica."));
    errors.report(new Error("READONLY You can't write against a read only replica."));
    errors.report(new Error('UNBLOCKED force unblock from blocking operation'));
    expect(logger.warns).toHaveLength(2);
    expect(logger.debugs).toHaveLength(1);
  });
});
