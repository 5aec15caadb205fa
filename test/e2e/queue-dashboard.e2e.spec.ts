import { JwtService } from '@nestjs/jwt';
import { randomUUID } from 'node:crypto';
import { ADMIN_USER_ID, PLATFORM_USER_ID, startTestApp, TestApp } from '../setup/test-app';

const DASHBOARD_PATHS = ['/admin/queues', '/admin/queues/api/queues', '/admin/%71ueues/api/queues'];

function expectProblem(response: { status: number; headers: Headers; body: any }, status: number): void {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toContain('application/problem+json');
  expect(response.body).toMatchObject({ status, requestId: response.headers.get('x-request-id') });
}

describe('queue dashboard (e2e, header auth)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it.each(DASHBOARD_PATHS)('%s: 401 without identity, 401 for a malformed one, 403 for a non-admin', async (path) => {
    expectProblem(await t.api.get(path), 401);
    expectProblem(await t.api.get(path, { headers: { 'x-user-id': 'not-a-uuid' } }), 401);
    expectProblem(await t.api.get(path, { userId: randomUUID() }), 403);
  });

  it('serves the board UI to the platform account and to configured admins', async () => {
    for (const userId of [PLATFORM_USER_ID, ADMIN_USER_ID]) {
      const page = await t.api.get('/admin/queues', { userId });
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toContain('text/html');
      expect(page.body).toContain('Wallet queues');
    }
  });

  it('lists every BullMQ queue the application registers', async () => {
    const response = await t.api.get('/admin/queues/api/queues', { userId: ADMIN_USER_ID });
    expect(response.status).toBe(200);
    const names = (response.body.queues as { name: string }[]).map((queue) => queue.name).sort();
    expect(names).toEqual(expect.arrayContaining(['reconciliation', 'reports', 'webhook-deliveries']));
  });

  it('leaves the rest of the API to the Nest guard (a plain user still reaches /wallets)', async () => {
    expect((await t.api.post('/wallets', { userId: randomUUID() })).status).toBe(201);
  });
});

describe('queue dashboard (e2e, jwt auth)', () => {
  const secret = 'a-test-secret-that-is-at-least-32-characters-long';
  const jwt = new JwtService({ secret });
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ env: { AUTH_MODE: 'jwt', JWT_SECRET: secret } });
  });
  afterAll(async () => {
    await t.close();
  });

  const bearer = (payload: object) => ({ authorization: `Bearer ${jwt.sign(payload, { expiresIn: 60 })}` });

  it('admits a token with the admin role, 403 without it, 401 for a bad signature or X-User-Id alone', async () => {
    const admin = await t.api.get('/admin/queues/api/queues', { headers: bearer({ sub: randomUUID(), roles: ['admin'] }) });
    expect(admin.status).toBe(200);
    expectProblem(await t.api.get('/admin/queues/api/queues', { headers: bearer({ sub: randomUUID(), roles: [] }) }), 403);
    const forged = new JwtService({ secret: `${secret}-other` }).sign({ sub: randomUUID(), roles: ['admin'] });
    expectProblem(await t.api.get('/admin/queues', { headers: { authorization: `Bearer ${forged}` } }), 401);
    expectProblem(await t.api.get('/admin/queues', { userId: ADMIN_USER_ID }), 401);
  });
});
