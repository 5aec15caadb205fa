import { getQueueToken } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { WebhookDeliveryService } from '../../src/webhooks/webhook-delivery.service';
import { DeliverJobData, WEBHOOKS_QUEUE } from '../../src/webhooks/webhooks.queue';
import { createWallet } from '../factories/wallets.factory';
import { ADMIN_USER_ID, startTestApp } from '../setup/test-app';
import { eventually } from '../setup/eventually';

/** A receiver on 127.0.0.1 that holds every request until released, then answers 204. */
class HoldingReceiver {
  /** webhook-id of every request, in arrival order. */
  readonly received: string[] = [];
  private readonly held: ServerResponse[] = [];
  private holding = true;
  private server!: Server;
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((request: IncomingMessage, response: ServerResponse) => {
      request.resume();
      request.on('end', () => {
        this.received.push(String(request.headers['webhook-id']));
        if (this.holding) this.held.push(response);
        else response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
  }

  get heldCount(): number {
    return this.held.length;
  }

  /** Answers the held requests and every later one at once. */
  release(): void {
    this.holding = false;
    for (const response of this.held.splice(0)) response.writeHead(204).end();
  }

  async stop(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/**
 * An endpoint at its in-flight cap (a quarter of WEBHOOK_CONCURRENCY per process): the attempts
 * over it are parked in memory and run, oldest first, in the slot of the endpoint's attempt that
 * ends (ADR 0071), instead of going back to Redis as delayed jobs again and again.
 */
describe('webhook attempts over an endpoint cap (e2e)', () => {
  const count = 6;

  async function start(receiver: HoldingReceiver, env: Record<string, string> = {}) {
    // Concurrency 4: one attempt in flight per endpoint.
    const t = await startTestApp({
      env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true', WEBHOOK_CONCURRENCY: '4', WEBHOOK_DISPATCH_INTERVAL_MS: '20', ...env },
    });
    const registered = await t.api.post('/webhook-endpoints', {
      userId: ADMIN_USER_ID,
      body: { url: `http://127.0.0.1:${receiver.port}/hook`, eventTypes: ['deposit.created'] },
    });
    expect(registered.status).toBe(201);
    const deposits: string[] = [];
    for (let i = 0; i < count; i++) deposits.push((await createWallet(t.api, 100 + i)).id);
    const feed = await t.api.get(`/events?limit=100&type=deposit.created`, { userId: ADMIN_USER_ID });
    expect(feed.status).toBe(200);
    const eventIds: string[] = feed.body.items.map((item: { id: string }) => item.id);
    expect(eventIds).toHaveLength(count);
    return { t, eventIds, endpointId: registered.body.id as string };
  }

  it('parks the attempts over the cap and delivers each once, oldest first, when the endpoint frees', async () => {
    const receiver = new HoldingReceiver();
    await receiver.start();
    const { t, eventIds } = await start(receiver);
    try {
      const deliveries = t.app.get(WebhookDeliveryService);
      const queue = t.app.get<Queue<DeliverJobData>>(getQueueToken(WEBHOOKS_QUEUE));
      expect(deliveries.perEndpointInFlight).toBe(1);

      // One attempt is held by the receiver; the five others wait in the process, not in Redis.
      await eventually(() => (receiver.heldCount === 1 && deliveries.parkedAttempts === count - 1 ? true : undefined), 'one held, the rest parked');
      const counts = await queue.getJobCounts('delayed', 'waiting', 'active');
      expect(counts).toMatchObject({ delayed: 0, waiting: 0, active: 1 });
      const scrape = String((await t.api.get('/metrics')).body);
      expect(scrape).toMatch(new RegExp(`^webhook_parked_attempts ${count - 1}$`, 'm'));

      receiver.release();
      const delivered = await eventually(async () => {
        const [row] = await t.db.sql<{ delivered: number }[]>`
          SELECT count(*)::int AS delivered FROM webhook_deliveries WHERE status = 'delivered'`;
        return row!.delivered === count ? row : undefined;
      }, 'every delivery delivered');
      expect(delivered.delivered).toBe(count);
      // Each once, in the order of the feed: the parked attempts ran oldest first.
      expect(receiver.received).toEqual(eventIds);
      expect(deliveries.parkedAttempts).toBe(0);
    } finally {
      await t.close();
      await receiver.stop();
    }
  });

  it('attempts dropped from parking at shutdown stay pending, and the sweeper queues them again', async () => {
    const receiver = new HoldingReceiver();
    await receiver.start();
    const { t, eventIds } = await start(receiver, { WEBHOOK_SWEEP_INTERVAL_MS: '100' });
    try {
      const deliveries = t.app.get(WebhookDeliveryService);
      await eventually(() => (receiver.heldCount === 1 && deliveries.parkedAttempts === count - 1 ? true : undefined), 'one held, the rest parked');

      // As at shutdown, and as if the process had died: the parked attempts are gone from memory.
      deliveries.closeParking();
      expect(deliveries.parkedAttempts).toBe(0);
      receiver.release();

      await eventually(async () => {
        const [row] = await t.db.sql<{ delivered: number }[]>`
          SELECT count(*)::int AS delivered FROM webhook_deliveries WHERE status = 'delivered'`;
        return row!.delivered === count ? true : undefined;
      }, 'every delivery delivered after the sweep');
      expect([...receiver.received].sort()).toEqual([...eventIds].sort());
    } finally {
      await t.close();
      await receiver.stop();
    }
  });
});
