import { JwtService } from '@nestjs/jwt';
import { createHmac, randomUUID } from 'node:crypto';
import { createWallet } from '../factories/wallets.factory';
import { ADMIN_USER_ID, PLATFORM_USER_ID, startTestApp, TestApp } from '../setup/test-app';

const JWT_SECRET = 'test-secret-of-at-least-32-characters!';
const jwt = new JwtService();

function sign(
  payload: Record<string, unknown>,
  options: { secret?: string; algorithm?: 'HS256' | 'HS512'; header?: Record<string, unknown> } = {},
) {
  return jwt.sign(payload, {
    secret: options.secret ?? JWT_SECRET,
    algorithm: options.algorithm ?? 'HS256',
    ...(options.header ? { header: { alg: options.algorithm ?? 'HS256', ...options.header } } : {}),
  });
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** HS256 over any claims: jsonwebtoken refuses to sign some malformed ones (a string `exp`). */
function signUnchecked(payload: Record<string, unknown>): string {
  const signingInput = `${base64url({ alg: 'HS256', typ: 'JWT' })}.${base64url(payload)}`;
  return `${signingInput}.${createHmac('sha256', JWT_SECRET).update(signingInput).digest('base64url')}`;
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
/** An expiry five minutes ahead: every token the service should accept carries one. */
const soon = () => nowSeconds() + 300;

describe('auth (e2e)', () => {
  describe('header mode (the default)', () => {
    let t: TestApp;

    beforeAll(async () => {
      t = await startTestApp();
    });
    afterAll(async () => {
      await t.close();
    });

    it('X-User-Id names the caller; an upper-case UUID is the same user', async () => {
      const userId = randomUUID();
      const created = await t.api.post('/wallets', { userId: userId.toUpperCase() });
      expect(created.status).toBe(201);
      expect(created.body.userId).toBe(userId);
      const again = await t.api.post('/wallets', { userId });
      expect(again.status).toBe(200);
      expect(again.body.id).toBe(created.body.id);
    });

    it("an id in ADMIN_USER_IDS and the platform account read anyone's wallet; others get 404", async () => {
      const wallet = await createWallet(t.api, 250);
      for (const admin of [ADMIN_USER_ID, PLATFORM_USER_ID, ADMIN_USER_ID.toUpperCase()]) {
        const response = await t.api.get(`/wallets/${wallet.id}`, { userId: admin });
        expect(response.status).toBe(200);
        expect(response.body).toMatchObject({ id: wallet.id, userId: wallet.userId, balance: 250 });
      }
      const stranger = await t.api.get(`/wallets/${wallet.id}`, { userId: randomUUID() });
      expect(stranger.status).toBe(404);
      expect(stranger.body.code).toBe('WALLET_NOT_FOUND');
    });

    it('a bearer token means nothing in header mode', async () => {
      const token = sign({ sub: randomUUID(), roles: ['admin'] });
      const response = await t.api.post('/wallets', { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(401);
    });
  });

  describe('jwt mode', () => {
    let t: TestApp;

    beforeAll(async () => {
      t = await startTestApp({ env: { AUTH_MODE: 'jwt', JWT_SECRET } });
    });
    afterAll(async () => {
      await t.close();
    });

    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

    async function walletOf(sub: string): Promise<{ id: string; userId: string }> {
      const response = await t.api.post('/wallets', { headers: bearer(sign({ sub, exp: nowSeconds() + 300 })) });
      expect(response.status).toBe(201);
      return response.body;
    }

    it("a valid token creates the wallet of its sub: 201, then 200 with the same wallet", async () => {
      const sub = randomUUID();
      const token = sign({ sub, exp: nowSeconds() + 300 });
      const first = await t.api.post('/wallets', { headers: bearer(token) });
      expect(first.status).toBe(201);
      expect(first.body.userId).toBe(sub);
      const second = await t.api.post('/wallets', { headers: bearer(token) });
      expect(second.status).toBe(200);
      expect(second.body.id).toBe(first.body.id);
    });

    it('X-User-Id is ignored: without a bearer token the request is 401', async () => {
      const response = await t.api.post('/wallets', { userId: randomUUID() });
      expect(response.status).toBe(401);
      expect(response.body.code).toBe('UNAUTHENTICATED');
    });

    /** Every uuid a rejected token named: none of them may end up with a wallet. */
    const rejectedSubs: string[] = [];
    const rejected: [string, (sub: string) => string][] = [
      ['expired', (sub) => sign({ sub, exp: nowSeconds() - 60 })],
      ['not yet valid (nbf in the future)', (sub) => sign({ sub, exp: soon(), nbf: nowSeconds() + 3_600 })],
      ['signed with another secret', (sub) => sign({ sub, exp: soon() }, { secret: 'another-secret-of-32-characters-or-more' })],
      ['signed with HS512 (not an accepted algorithm)', (sub) => sign({ sub, exp: soon() }, { algorithm: 'HS512' })],
      ['alg none', (sub) => `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url({ sub, roles: ['admin'], exp: soon() })}.`],
      [
        'a valid signature over a tampered payload',
        (sub) => {
          const [header, , signature] = sign({ sub: randomUUID(), exp: soon() }).split('.');
          return `${header}.${base64url({ sub, roles: ['admin'], exp: soon() })}.${signature}`;
        },
      ],
      ['without exp (it would never expire), admin role included', (sub) => sign({ sub, roles: ['admin'] })],
      ['with exp that is not a number', (sub) => signUnchecked({ sub, exp: 'never' })],
      ['with a crit header', (sub) => sign({ sub, exp: soon() }, { header: { crit: ['exp'] } })],
      ['with an empty crit header', (sub) => sign({ sub, exp: soon() }, { header: { crit: [] } })],
      ['sub not a uuid', () => sign({ sub: 'alice', exp: soon() })],
      ['sub a number', () => sign({ sub: 42, exp: soon() })],
      ['no sub', () => sign({ roles: ['admin'], exp: soon() })],
      ['garbage', () => 'not.a.token'],
      ['a header that is not an object', () => `${base64url(1)}.${base64url({ exp: soon() })}.c2ln`],
    ];

    it.each(rejected)('a token that is %s is 401 problem details', async (_name, makeToken) => {
      const sub = randomUUID();
      rejectedSubs.push(sub);
      const response = await t.api.post('/wallets', { headers: bearer(makeToken(sub)) });
      expect(response.status).toBe(401);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(response.body.code).toBe('UNAUTHENTICATED');
    });

    it('no rejected token created a wallet', async () => {
      expect(rejectedSubs).toHaveLength(rejected.length);
      const rows = await t.db.sql`SELECT count(*)::int AS n FROM wallets WHERE user_id = ANY(${rejectedSubs}::uuid[])`;
      expect(rows[0]!.n).toBe(0);
    });

    it('names the missing expiry and the crit header in the problem', async () => {
      const noExp = await t.api.post('/wallets', { headers: bearer(sign({ sub: randomUUID() })) });
      expect(noExp.body.detail).toMatch(/exp/);
      const crit = await t.api.post('/wallets', { headers: bearer(sign({ sub: randomUUID(), exp: soon() }, { header: { crit: ['x'] } })) });
      expect(crit.body.detail).toMatch(/crit/);
    });

    it.each([['Basic dXNlcjpwYXNz'], ['Bearer'], ['bearer'], ['Token abc.def.ghi'], ['Bearer\tabc.def.ghi'], ['Bearerabc.def.ghi']])(
      'Authorization %j is 401',
      async (authorization) => {
        const response = await t.api.post('/wallets', { headers: { authorization } });
        expect(response.status).toBe(401);
      },
    );

    it.each([['bearer '], ['BEARER '], ['bEaReR '], ['Bearer  '], ['Bearer     ']])(
      'the scheme written %j (any case, any number of spaces) is accepted',
      async (prefix) => {
        const sub = randomUUID();
        const response = await t.api.post('/wallets', { headers: { authorization: `${prefix}${sign({ sub, exp: soon() })}` } });
        expect(response.status).toBe(201);
        expect(response.body.userId).toBe(sub);
      },
    );

    it("roles ['admin'] reads another user's wallet; the same token without the role gets 404", async () => {
      const owner = await walletOf(randomUUID());
      const adminToken = sign({ sub: randomUUID(), roles: ['admin'], exp: nowSeconds() + 300 });
      const asAdmin = await t.api.get(`/wallets/${owner.id}`, { headers: bearer(adminToken) });
      expect(asAdmin.status).toBe(200);
      expect(asAdmin.body.userId).toBe(owner.userId);

      for (const roles of [undefined, [], ['user'], 'admin', ['Admin']]) {
        const token = sign({ sub: randomUUID(), exp: nowSeconds() + 300, ...(roles === undefined ? {} : { roles }) });
        const response = await t.api.get(`/wallets/${owner.id}`, { headers: bearer(token) });
        expect({ roles, status: response.status }).toEqual({ roles, status: 404 });
      }
    });

    it('the owner reads their own wallet with a token for their sub', async () => {
      const sub = randomUUID();
      const wallet = await walletOf(sub);
      const response = await t.api.get(`/wallets/${wallet.id}`, { headers: bearer(sign({ sub, exp: soon() })) });
      expect(response.status).toBe(200);
      expect(response.body.id).toBe(wallet.id);
    });
  });

  describe('jwt mode with JWT_ISSUER and JWT_AUDIENCE', () => {
    const issuer = 'https://id.example.com/';
    const audience = 'wallet-service';
    let t: TestApp;

    beforeAll(async () => {
      t = await startTestApp({ env: { AUTH_MODE: 'jwt', JWT_SECRET, JWT_ISSUER: issuer, JWT_AUDIENCE: audience } });
    });
    afterAll(async () => {
      await t.close();
    });

    async function statusFor(claims: Record<string, unknown>): Promise<number> {
      const token = sign({ sub: randomUUID(), exp: soon(), ...claims });
      return (await t.api.post('/wallets', { headers: { authorization: `Bearer ${token}` } })).status;
    }

    it('accepts a token from the configured issuer for the configured audience', async () => {
      expect(await statusFor({ iss: issuer, aud: audience })).toBe(201);
      // `aud` may list several audiences; one of them must be this service.
      expect(await statusFor({ iss: issuer, aud: ['reports', audience] })).toBe(201);
    });

    it.each([
      ['another issuer', { iss: 'https://evil.example.com/', aud: audience }],
      ['no issuer', { aud: audience }],
      ['another audience', { iss: issuer, aud: 'reports' }],
      ['no audience', { iss: issuer }],
    ])('refuses a token with %s (401)', async (_name, claims) => {
      expect(await statusFor(claims)).toBe(401);
    });
  });
});
