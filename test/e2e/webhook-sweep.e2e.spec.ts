import { getQueueToken } from '@nestjs/bullmq';
import { Queue, Worker } from 'bullmq';
import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { WebhookDispatcher } from '../../src/webhooks/webhook-dispatcher';
import { WebhookMetrics } from '../../src/webhooks/webhook-metrics';
import { DeliverJobData, overdueGraceMs, WEBHOOKS_QUEUE } from '../../src/webhooks/webhooks.queue';
import { WebhooksRepository } from '../../src/webhooks/webhooks.repository';
import { createWallet } from '../factories/wallets.factory';
import { ADMIN_USER_ID, startTestApp, TestApp } from '../setup/test-app';
import { TEST_REDIS_URL } from '../setup/test-env';

/**
 * The sweeper replaces a delivery's job even when a worker died holding it (ADR 0032). A worker
 * killed after taking a job but before claiming the delivery leaves the job `active` under its
 * lock until BullMQ's stalled check (up to 90 s); the sweeper used to re-add the very same job
 * id, which BullMQ ignores while that job exists, so the delivery waited for the stalled check.
 * Here the service runs without a worker of its own; a BullMQ worker takes the job and is never
 * heard from again, as after a SIGKILL.
 */
describe('webhook sweeper (e2e)', () => {
  let t: TestApp;
  let connection: Redis;

  beforeAll(async () => {
    t = await startTestApp({ env: { APP_ROLE: 'api', WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOK_SWEEP_INTERVAL_MS: '100' } });
    connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  });

  afterAll(async () => {
    connection.disconnect();
    await t.close();
  });

  it('queues an overdue delivery again although a dead worker still holds its job', async () => {
    // Port 9 (discard): the delivery is never attempted in this test.
    const registered = await t.api.post('/webhook-endpoints', {
      userId: ADMIN_USER_ID,
      body: { url: 'http://127.0.0.1:9/hook', eventTypes: ['deposit.created'] },
    });
    expect(registered.status).toBe(201);
    await createWallet(t.api, 500);

    const queue = t.app.get<Queue<DeliverJobData>>(getQueueToken(WEBHOOKS_QUEUE));
    const dispatcher = new WebhookDispatcher(t.app.get(WebhooksRepository), t.app.get(WebhookMetrics), t.config, queue);
    // Dispatch until the deposit's delivery exists (the fence may hold it back for a moment).
    let deliveries: { id: string }[] = [];
    for (let step = 0; step < 200 && deliveries.length === 0; step++) {
      await dispatcher.tick();
      deliveries = await t.db.sql<{ id: string }[]>`
        SELECT id FROM webhook_deliveries WHERE endpoint_id = ${registered.body.id}::uuid`;
    }
    expect(deliveries).toHaveLength(1);
    const deliveryId = deliveries[0]!.id;

    // A worker takes the job, holds its lock and dies before claiming the delivery.
    const dead = new Worker<DeliverJobData>(WEBHOOKS_QUEUE, null, { connection, prefix: `${t.keyPrefix}bull`, autorun: false });
    const taken = await dead.getNextJob(randomUUID());
    expect(taken?.data.deliveryId).toBe(deliveryId);
    expect((await queue.getActive()).map((job) => job.data.deliveryId)).toEqual([deliveryId]);

    // Its attempt is now long overdue: the sweeper must queue it again, beside the stranded job.
    await t.db.sql`UPDATE webhook_deliveries SET next_attempt_at = now() - interval '1 minute' WHERE id = ${deliveryId}::uuid`;
    const now = Date.now();
    expect(await dispatcher.sweep(now)).toBe(1);
    expect((await queue.getWaiting()).map((job) => job.data.deliveryId)).toEqual([deliveryId]);
    // Sweeping again within the round while that job waits adds nothing.
    expect(await dispatcher.sweep(now)).toBe(1);
    expect(await queue.getWaitingCount()).toBe(1);
    // The next round adds another: a sweep job stranded like the first blocks a delivery for one round at most.
    expect(await dispatcher.sweep(now + 4 * overdueGraceMs(t.config.webhooks.sweepIntervalMs))).toBe(1);
    expect((await queue.getWaiting()).map((job) => job.data.deliveryId)).toEqual([deliveryId, deliveryId]);
    await dead.close(true);
  });
});
