import { Logger } from '@nestjs/common';
import { Queue, Worker } from 'bullmq';
import Redis from 'ioredis';
import { closeWorkerWithin, JobsInFlight } from '../../src/queue/worker-shutdown';
import { PrivateRedis } from '../setup/private-redis';

const POLL_INTERVAL_MS = 20;
const POLLS_MAX = 500;
/** Long enough that the blocking connection sits between reconnect attempts, without a socket. */
const RECONNECT_DELAY_MS = 5_000;

async function until(condition: () => boolean): Promise<void> {
  for (let poll = 0; poll < POLLS_MAX && !condition(); poll++) await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  expect(condition()).toBe(true);
}

/**
 * A worker whose blocking connection waits to reconnect (Redis gone, or demoted and back) has
 * no socket; BullMQ's graceful close waits for an `end` event that ioredis then never emits.
 * closeWorkerWithin must close such a worker, after the job it was running.
 */
describe('closeWorkerWithin on a real BullMQ worker', () => {
  let redis: PrivateRedis;
  let connection: Redis;
  let worker: Worker | undefined;

  beforeEach(async () => {
    redis = await PrivateRedis.start();
    connection = new Redis(redis.url, { maxRetriesPerRequest: null, retryStrategy: () => RECONNECT_DELAY_MS });
    connection.on('error', () => undefined);
  });

  afterEach(async () => {
    await worker?.close(true);
    connection.disconnect();
    await redis.stop();
  });

  it('waits for the running job, then closes while the blocking connection has no socket', async () => {
    const jobs = new JobsInFlight();
    let finishJob: () => void = () => undefined;
    const jobStarted = new Promise<void>((started) => {
      worker = new Worker(
        'shutdown',
        () =>
          jobs.track(async () => {
            started();
            await new Promise<void>((resolve) => {
              finishJob = resolve;
            });
            return 'done';
          }),
        { connection, prefix: 'test-shutdown' },
      );
    });
    const closedEvents: string[] = [];
    worker!.on('error', () => undefined);
    worker!.on('closed', () => closedEvents.push('closed'));
    const queue = new Queue('shutdown', { connection, prefix: 'test-shutdown' });
    await queue.add('job', {});
    await jobStarted;
    await queue.close();

    await redis.stop();
    const blocking = (await (worker as unknown as { blockingConnection: { client: Promise<Redis> } }).blockingConnection.client) as Redis;
    await until(() => blocking.status === 'reconnecting');

    let closed = false;
    const closing = closeWorkerWithin(worker!, jobs, { drainTimeoutMs: 60_000, logger: new Logger('test') }).then(() => {
      closed = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    finishJob();
    await closing;
    expect(closedEvents).toEqual(['closed']);
  });
});
