import { randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { Webhook } from 'standardwebhooks';
import { createWallet, purchase } from '../factories/wallets.factory';
import { ADMIN_USER_ID, startTestApp, TestApp } from '../setup/test-app';
import { eventually } from '../setup/eventually';

/** An answer with headers and a body: a status alone answers 'ok'. */
interface Answer {
  status: number;
  headers?: Record<string, string>;
  /** Body: this many bytes; 'endless' at full speed, or 'trickle' (a byte every 50 ms), until the client goes away. */
  bodyBytes?: number | 'endless' | 'trickle';
}

/** A receiver on 127.0.0.1: records every request per path; each path answers as told. */
class Receiver {
  readonly received = new Map<string, { headers: Record<string, string>; body: string }[]>();
  readonly behaviour = new Map<string, (index: number) => number | 'hang' | Answer>();
  /** Paths whose streamed answer the client cut off before it ended. */
  readonly cutOff = new Set<string>();
  private server!: Server;
  private readonly hanging: ServerResponse[] = [];
  port = 0;

  async start(): Promise<void> {
    this.server = createServer((request: IncomingMessage, response: ServerResponse) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const path = request.url ?? '/';
        const list = this.received.get(path) ?? [];
        list.push({ headers: request.headers as Record<string, string>, body: Buffer.concat(chunks).toString('utf8') });
        this.received.set(path, list);
        const answer = (this.behaviour.get(path) ?? (() => 204))(list.length - 1);
        if (answer === 'hang') {
          this.hanging.push(response);
          return;
        }
        if (typeof answer === 'number') {
          response.statusCode = answer;
          response.end('ok');
          return;
        }
        response.writeHead(answer.status, answer.headers);
        this.stream(path, response, answer.bodyBytes ?? 0);
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
  }

  /** Writes the body in 64 KiB chunks as fast as the client reads, or a byte at a time, until it goes away. */
  private stream(path: string, response: ServerResponse, bytes: number | 'endless' | 'trickle'): void {
    response.once('close', () => {
      if (!response.writableEnded) this.cutOff.add(path);
    });
    if (bytes === 'trickle') {
      const timer = setInterval(() => (response.destroyed ? clearInterval(timer) : response.write('x')), 50);
      return;
    }
    const chunk = Buffer.alloc(65_536, 'x');
    let sent = 0;
    const more = () => {
      while (!response.destroyed && (bytes === 'endless' || sent < bytes)) {
        sent += chunk.length;
        if (!response.write(chunk)) return void response.once('drain', more);
      }
      if (!response.destroyed) response.end();
    };
    more();
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async stop(): Promise<void> {
    for (const response of this.hanging) response.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('events and webhooks (e2e)', () => {
  let t: TestApp;
  const receiver = new Receiver();

  beforeAll(async () => {
    await receiver.start();
    t = await startTestApp({
      env: {
        WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
        WEBHOOK_RETRY_BASE_MS: '200',
        WEBHOOK_TIMEOUT_MS: '1000',
        WEBHOOK_DISPATCH_INTERVAL_MS: '20',
        WEBHOOK_DISABLE_AFTER_HOURS: '0.0005',
        WEBHOOK_MAX_ATTEMPTS: '8',
      },
    });
  });

  afterAll(async () => {
    await t.close();
    await receiver.stop();
  });

  async function register(path: string, eventTypes: string[]): Promise<{ id: string; secret: string }> {
    const response = await t.api.post('/webhook-endpoints', { userId: ADMIN_USER_ID, body: { url: receiver.url(path), eventTypes } });
    expect(response.status).toBe(201);
    return response.body;
  }

  async function readAll(userId: string, query = ''): Promise<{ id: string; type: string; data: Record<string, unknown> }[]> {
    const items: { id: string; type: string; data: Record<string, unknown> }[] = [];
    let after = '';
    for (;;) {
      const response = await t.api.get(`/events?limit=7${query}${after ? `&after=${after}` : ''}`, { userId });
      expect(response.status).toBe(200);
      items.push(...response.body.items);
      if (response.body.items.length === 0) return items;
      after = response.body.nextCursor;
    }
  }

  it('writes one event per movement whose data is the resource exactly as the API returned it', async () => {
    const buyer = await createWallet(t.api);
    const author = await createWallet(t.api);
    const deposited = await t.api.post(`/wallets/${buyer.id}/deposit`, { userId: buyer.userId, body: { amount: 5_000 } });
    const bought = await purchase(t.api, buyer, author, 999);
    const withdrawn = await t.api.post(`/wallets/${author.id}/withdrawals`, {
      userId: author.userId,
      idempotencyKey: randomUUID(),
      body: { amount: 100 },
    });
    // A replay moves nothing and writes no event.
    expect((await purchase(t.api, buyer, author, 999, bought.body.idempotencyKey)).status).toBe(201);
    expect([deposited.status, bought.status, withdrawn.status]).toEqual([201, 201, 201]);

    const all = await readAll(ADMIN_USER_ID);
    const byData = (id: string) => all.filter((event) => event.data.id === id);
    expect(byData(bought.body.id)).toEqual([expect.objectContaining({ type: 'purchase.completed', data: bought.body })]);
    expect(byData(withdrawn.body.id)).toEqual([expect.objectContaining({ type: 'withdrawal.created', data: withdrawn.body })]);
    expect(all.filter((event) => event.type === 'deposit.created' && event.data.id === buyer.id)).toEqual([
      expect.objectContaining({ data: deposited.body }),
    ]);
    expect(new Set(all.map((event) => event.id)).size).toBe(all.length);

    // The buyer sees its deposit and purchase; the author the purchase and its withdrawal.
    const buyerEvents = await readAll(buyer.userId);
    expect(buyerEvents.map((event) => event.type)).toEqual(['deposit.created', 'purchase.completed']);
    const authorEvents = await readAll(author.userId);
    expect(authorEvents.map((event) => event.type)).toEqual(['purchase.completed', 'withdrawal.created']);
    expect(await readAll(randomUUID())).toEqual([]);
    const purchasesOnly = await readAll(ADMIN_USER_ID, '&type=purchase.completed');
    expect(purchasesOnly.every((event) => event.type === 'purchase.completed')).toBe(true);
    expect(purchasesOnly.map((event) => event.data.id)).toContain(bought.body.id);
  });

  it.each([
    ['after=not-a-cursor!', 'after'],
    [`after=${Buffer.from('x1.2').toString('base64url')}`, 'after'],
    ['type=purchase.exploded', 'type'],
    ['limit=0', 'limit'],
    ['limit=501', 'limit'],
    ['surprise=1', 'surprise'],
  ])('GET /events?%s is a 400 naming %s', async (query, field) => {
    const response = await t.api.get(`/events?${query}`, { userId: ADMIN_USER_ID });
    expect(response.status).toBe(400);
    expect(response.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
  });

  it('signs deliveries per Standard Webhooks, verified with the specification library', async () => {
    const endpoint = await register('/signed', ['purchase.completed']);
    expect(endpoint.secret).toMatch(/^whsec_/);
    const listed = await t.api.get('/webhook-endpoints', { userId: ADMIN_USER_ID });
    expect(listed.body.items.find((item: { id: string }) => item.id === endpoint.id)).not.toHaveProperty('secret');

    const buyer = await createWallet(t.api, 1_000);
    const author = await createWallet(t.api);
    const bought = await purchase(t.api, buyer, author, 250);
    const delivery = await eventually(() => receiver.received.get('/signed')?.[0], 'a delivery to /signed');
    const payload = new Webhook(endpoint.secret).verify(delivery.body, delivery.headers) as Record<string, unknown>;
    expect(payload).toEqual({ id: delivery.headers['webhook-id'], type: 'purchase.completed', createdAt: bought.body.createdAt, data: bought.body });
    expect(() => new Webhook(`whsec_${Buffer.from('another secret of enough length').toString('base64')}`).verify(delivery.body, delivery.headers)).toThrow();

    const deliveries = await eventually(async () => {
      const response = await t.api.get(`/webhook-endpoints/${endpoint.id}/deliveries`, { userId: ADMIN_USER_ID });
      return response.body.items[0]?.status === 'delivered' ? response.body : undefined;
    }, 'the delivery recorded');
    expect(deliveries.items[0]).toEqual(
      expect.objectContaining({ eventId: delivery.headers['webhook-id'], attemptCount: 1, lastStatusCode: 204, nextAttemptAt: null }),
    );
    expect(deliveries.items[0].attempts).toEqual([expect.objectContaining({ statusCode: 204, error: null })]);

    // Redelivery: the same webhook-id again.
    const redelivered = await t.api.post(`/events/${delivery.headers['webhook-id']}/redeliver`, { userId: ADMIN_USER_ID, body: {} });
    expect(redelivered.status).toBe(202);
    expect(redelivered.body.deliveries).toHaveLength(1);
    const second = await eventually(() => receiver.received.get('/signed')?.[1], 'the redelivery');
    expect(second.headers['webhook-id']).toBe(delivery.headers['webhook-id']);
    expect(() => new Webhook(endpoint.secret).verify(second.body, second.headers)).not.toThrow();
  });

  it('retries a failing receiver with the same webhook-id until it answers 2xx', async () => {
    receiver.behaviour.set('/flaky', (index) => (index < 2 ? 500 : 200));
    const endpoint = await register('/flaky', ['deposit.created']);
    const wallet = await createWallet(t.api, 77);
    const third = await eventually(() => receiver.received.get('/flaky')?.[2], 'the third attempt');
    const ids = receiver.received.get('/flaky')!.map((request) => request.headers['webhook-id']);
    expect(new Set(ids).size).toBe(1);
    expect(JSON.parse(third.body).data.id).toBe(wallet.id);
    const page = await eventually(async () => {
      const response = await t.api.get(`/webhook-endpoints/${endpoint.id}/deliveries`, { userId: ADMIN_USER_ID });
      return response.body.items[0]?.status === 'delivered' ? response.body : undefined;
    }, 'delivered after retries');
    expect(page.items[0].attempts.map((attempt: { statusCode: number }) => attempt.statusCode)).toEqual([500, 500, 200]);
  });

  it('one hanging receiver never delays another', async () => {
    receiver.behaviour.set('/hangs', () => 'hang');
    await register('/hangs', ['withdrawal.created']);
    await register('/fast', ['withdrawal.created']);
    const wallet = await createWallet(t.api, 10_000);
    const count = 12;
    for (let i = 0; i < count; i++) {
      const response = await t.api.post(`/wallets/${wallet.id}/withdrawals`, { userId: wallet.userId, idempotencyKey: randomUUID(), body: { amount: 1 } });
      expect(response.status).toBe(201);
    }
    // Every one reaches the fast receiver while the hanging one has answered none.
    await eventually(() => ((receiver.received.get('/fast')?.length ?? 0) >= count ? true : undefined), 'all fast deliveries');
    expect(receiver.received.get('/fast')).toHaveLength(count);
    receiver.behaviour.set('/hangs', () => 503);
  });

  it('never follows a redirect: a 3xx is a failed attempt, retried, and its target is never called', async () => {
    receiver.behaviour.set('/moved', () => ({ status: 302, headers: { location: receiver.url('/moved-here') } }));
    const endpoint = await register('/moved', ['deposit.created']);
    await createWallet(t.api, 41);
    const delivery = await eventually(async () => {
      const response = await t.api.get(`/webhook-endpoints/${endpoint.id}/deliveries`, { userId: ADMIN_USER_ID });
      return response.body.items[0]?.attempts.length >= 2 ? response.body.items[0] : undefined;
    }, 'two attempts at /moved');
    expect(delivery.status).toBe('pending');
    expect(delivery.attempts.slice(0, 2)).toEqual([
      expect.objectContaining({ statusCode: 302, error: 'the receiver answered 302' }),
      expect.objectContaining({ statusCode: 302, error: 'the receiver answered 302' }),
    ]);
    expect(receiver.received.get('/moved-here')).toBeUndefined();
    await t.api.request('DELETE', `/webhook-endpoints/${endpoint.id}`, { userId: ADMIN_USER_ID });
  });

  it('reads a bounded part of the answer: an endless 2xx body is delivered and cut off', async () => {
    receiver.behaviour.set('/endless', () => ({ status: 200, bodyBytes: 'endless' }));
    const endpoint = await register('/endless', ['deposit.created']);
    await createWallet(t.api, 43);
    const delivery = await eventually(async () => {
      const response = await t.api.get(`/webhook-endpoints/${endpoint.id}/deliveries`, { userId: ADMIN_USER_ID });
      return response.body.items[0]?.status === 'delivered' ? response.body.items[0] : undefined;
    }, 'the endless answer counted');
    expect(delivery).toEqual(expect.objectContaining({ attemptCount: 1, lastStatusCode: 200 }));
    // The sender stopped reading and closed the connection; the receiver never finished.
    await eventually(() => (receiver.cutOff.has('/endless') ? true : undefined), 'the endless answer cut off');
  });

  it('bounds the answer in time: a 2xx whose body never ends fails at WEBHOOK_TIMEOUT_MS', async () => {
    receiver.behaviour.set('/trickle', () => ({ status: 200, bodyBytes: 'trickle' }));
    const endpoint = await register('/trickle', ['deposit.created']);
    await createWallet(t.api, 47);
    const delivery = await eventually(async () => {
      const response = await t.api.get(`/webhook-endpoints/${endpoint.id}/deliveries`, { userId: ADMIN_USER_ID });
      return response.body.items[0]?.attempts.length >= 1 ? response.body.items[0] : undefined;
    }, 'the first attempt at /trickle recorded');
    expect(delivery.status).toBe('pending');
    expect(delivery.attempts[0]).toEqual(
      expect.objectContaining({ statusCode: 200, error: `no complete answer within ${t.config.webhooks.timeoutMs} ms` }),
    );
    await eventually(() => (receiver.cutOff.has('/trickle') ? true : undefined), 'the trickling answer cut off');
    await t.api.request('DELETE', `/webhook-endpoints/${endpoint.id}`, { userId: ADMIN_USER_ID });
  });

  it('disables an endpoint that keeps failing for WEBHOOK_DISABLE_AFTER_HOURS and says why', async () => {
    receiver.behaviour.set('/dead', () => 500);
    const endpoint = await register('/dead', ['deposit.created']);
    await createWallet(t.api, 5);
    const disabled = await eventually(async () => {
      const response = await t.api.get(`/webhook-endpoints/${endpoint.id}`, { userId: ADMIN_USER_ID });
      return response.body.enabled === false ? response.body : undefined;
    }, 'the endpoint disabled');
    expect(disabled.disabledReason).toMatch(/^Disabled automatically: every delivery failed since .*500/);
    const resumed = await t.api.request('PATCH', `/webhook-endpoints/${endpoint.id}`, { userId: ADMIN_USER_ID, body: { enabled: true } });
    expect(resumed.status).toBe(200);
    expect(resumed.body).toEqual(expect.objectContaining({ enabled: true, disabledReason: null, failingSince: null }));
  });

  it('rotating the secret keeps the old one valid beside the new one', async () => {
    const endpoint = await register('/rotated', ['deposit.created']);
    const rotated = await t.api.post(`/webhook-endpoints/${endpoint.id}/rotate-secret`, { userId: ADMIN_USER_ID });
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).not.toBe(endpoint.secret);
    await createWallet(t.api, 3);
    const delivery = await eventually(() => receiver.received.get('/rotated')?.[0], 'a delivery to /rotated');
    expect(() => new Webhook(rotated.body.secret).verify(delivery.body, delivery.headers)).not.toThrow();
    expect(() => new Webhook(endpoint.secret).verify(delivery.body, delivery.headers)).not.toThrow();
  });

  it('admin only, 404 for unknown ids, 400 for bad input, 204 on delete', async () => {
    const stranger = randomUUID();
    expect((await t.api.get('/webhook-endpoints', { userId: stranger })).status).toBe(403);
    expect((await t.api.post('/webhook-endpoints', { userId: stranger, body: { url: receiver.url('/x'), eventTypes: ['deposit.created'] } })).status).toBe(403);
    expect((await t.api.get(`/webhook-endpoints/${randomUUID()}`, { userId: ADMIN_USER_ID })).status).toBe(404);
    expect((await t.api.get('/webhook-endpoints/nope', { userId: ADMIN_USER_ID })).status).toBe(400);
    expect((await t.api.post(`/events/${randomUUID()}/redeliver`, { userId: ADMIN_USER_ID, body: {} })).status).toBe(404);
    for (const body of [
      { url: receiver.url('/x'), eventTypes: [] },
      { url: receiver.url('/x'), eventTypes: ['nope'] },
      { url: 'ftp://example.com/', eventTypes: ['deposit.created'] },
      { url: 'not a url', eventTypes: ['deposit.created'] },
      { eventTypes: ['deposit.created'] },
      { url: receiver.url('/x'), eventTypes: ['deposit.created'], secret: 'mine' },
    ]) {
      const response = await t.api.post('/webhook-endpoints', { userId: ADMIN_USER_ID, body });
      expect(response.status).toBe(400);
    }
    const endpoint = await register('/deleted', ['deposit.created']);
    expect((await t.api.request('DELETE', `/webhook-endpoints/${endpoint.id}`, { userId: ADMIN_USER_ID })).status).toBe(204);
    expect((await t.api.request('DELETE', `/webhook-endpoints/${endpoint.id}`, { userId: ADMIN_USER_ID })).status).toBe(404);
  });

  it('refuses loopback and private targets unless WEBHOOK_ALLOW_PRIVATE_NETWORKS=true', async () => {
    const strict = await startTestApp({ database: t.db, env: { APP_ROLE: 'api' } });
    try {
      for (const url of ['http://127.0.0.1:9/hook', 'http://[::1]/hook', 'http://169.254.169.254/latest/meta-data', 'http://10.0.0.7/']) {
        const response = await strict.api.post('/webhook-endpoints', { userId: ADMIN_USER_ID, body: { url, eventTypes: ['deposit.created'] } });
        expect(response.status).toBe(400);
        expect(response.body.errors).toEqual([expect.objectContaining({ field: 'url', message: expect.stringMatching(/loopback, private/) })]);
      }
    } finally {
      await strict.close();
    }
  });
});
