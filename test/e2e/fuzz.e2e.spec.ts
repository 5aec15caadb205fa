import fc from 'fast-check';
import '../setup/seeded';
import { request as httpRequest } from 'node:http';
import { randomUUID } from 'node:crypto';
import { REFUND_AMOUNT_CENTS_MAX } from '../../src/purchases/dto/refund.dto';
import { createWallet, purchase, TestWallet } from '../factories/wallets.factory';
import { expectBooksBalanced } from '../setup/books';
import { ADMIN_USER_ID, startTestApp, TestApp } from '../setup/test-app';

/**
 * Adversarial input at every endpoint: whatever arrives, the service answers below 500 with
 * problem details, leaks nothing about its internals, and a rejected request changes nothing.
 */

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

interface FuzzRequest {
  method: string;
  path: string;
  /** Array values go out as repeated header lines. */
  headers: Record<string, string | string[]>;
  body?: string;
}

/** Raw HTTP, so that duplicate headers, odd content types and bodies go out as generated. */
function send(baseUrl: string, fuzz: FuzzRequest): Promise<RawResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: fuzz.method,
        path: fuzz.path,
        headers: fuzz.headers,
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer to ${fuzz.method} ${fuzz.path}`)));
    req.on('error', reject);
    if (fuzz.body !== undefined) req.write(fuzz.body);
    req.end();
  });
}

/** Words that only an internal error message, a stack trace or a driver would put in a body. */
const LEAK = /\bat [\w.<>]+ \(|node_modules|\.ts:\d|\bSELECT\b|\bINSERT\b|postgres|drizzle|ioredis|SQLSTATE|syntax error|ECONNREFUSED|TypeError|ReferenceError|Cannot read prop/i;

const INJECTION = [
  "' OR '1'='1",
  "1; DROP TABLE wallets; --",
  "'); DELETE FROM ledger_entries; --",
  '" OR ""="',
  '{"$gt": ""}',
  '__proto__',
  'constructor',
  '../../../../etc/passwd',
  '..%2f..%2f..%2fetc%2fpasswd',
  '%00',
  '\u0000',
  '${7*7}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '\u202e\u0645\ud83d\udca5',
  'NaN',
  'Infinity',
  '-0',
  '1e309',
  '9007199254740993',
  '0x10',
  ' 100 ',
];

const numbers = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(
    0,
    -1,
    1_000_000_001,
    Number.MAX_SAFE_INTEGER,
    Number.MAX_SAFE_INTEGER + 2,
    Number.MIN_SAFE_INTEGER,
    1e308,
    -1e308,
    5e-324,
    0.5,
    -0,
  ),
);

/** Values of every JSON type, biased towards the ones that break parsers and validators. */
const weird: fc.Arbitrary<unknown> = fc.oneof(
  numbers,
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.constantFrom(...INJECTION),
  fc.constantFrom(null, true, false, [], {}, [1], { amount: 1 }),
  fc.anything({ maxDepth: 2 }),
);

/** A JSON body shaped like the real one with some fields replaced, plus extra ones. */
function bodyLike(valid: Record<string, unknown>): fc.Arbitrary<string | undefined> {
  const keys = Object.keys(valid);
  const mangled = fc
    .tuple(
      fc.subarray(keys),
      fc.array(weird, { minLength: keys.length, maxLength: keys.length }),
      fc.dictionary(fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'amount ', 'AMOUNT')), weird, {
        maxKeys: 2,
      }),
    )
    .map(([replaced, values, extra]) => {
      const body: Record<string, unknown> = { ...valid };
      replaced.forEach((key, index) => (body[key] = values[index]));
      return JSON.stringify({ ...body, ...extra });
    });
  return fc.oneof(
    { weight: 5, arbitrary: mangled },
    fc.constant(undefined),
    fc.json().map((text) => text),
    fc.string(),
    fc.constantFrom(
      '{',
      '{"amount": 1,}',
      '{"amount": 1, "amount": 2}',
      '{"amount": 100}{"amount": 100}',
      '{"__proto__": {"isAdmin": true}, "amount": 100}',
      '{"constructor": {"prototype": {"isAdmin": true}}}',
      '[]',
      'null',
      '"amount"',
      `{"amount": ${'9'.repeat(400)}}`,
      `{"amount": 1, "pad": "${'x'.repeat(20 * 1024)}"}`,
      `${'['.repeat(5_000)}${']'.repeat(5_000)}`,
    ),
  );
}

/** Header values an HTTP client can actually send (visible ASCII and spaces), some plausible. */
const headerValue = fc.oneof(
  fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 300 }),
  fc.constantFrom('', ' ', 'a'.repeat(256), 'a'.repeat(255), 'key with spaces', "k'; DROP TABLE purchases;--", '../x'),
  fc.uuid(),
);

interface World {
  t: TestApp;
  buyer: TestWallet;
  author: TestWallet;
  stranger: TestWallet;
  /** Purchases of the buyer from the author, large enough that fuzzed refunds keep finding cents to give back. */
  purchaseIds: string[];
  /** Pending payouts of the stranger, for settle, fail and reads (admins settle them as fuzzing goes). */
  withdrawalIds: string[];
  /** Authorized holds of the buyer, for capture and void (the buyer and admins resolve them as fuzzing goes). */
  holdIds: string[];
}

/** What each of the world's purchases costs; refunds are fuzzed against them. */
const WORLD_PURCHASE_CENTS = 5_000;
const WORLD_PURCHASES = 4;

function fuzzRequests(world: World): fc.Arbitrary<FuzzRequest> {
  const { buyer, author, stranger, purchaseIds, withdrawalIds, holdIds } = world;
  const pathId = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(buyer.id, author.id, stranger.id, buyer.id.toUpperCase()) },
    fc.uuid(),
    fc.constantFrom(...INJECTION).map(encodeURIComponent),
    fc.constantFrom('..', '.', '%2e%2e', '..%2f..%2fadmin', '%252e%252e%252f', 'null', '0', '-1', 'a'.repeat(2_000)),
    fc.string({ unit: 'grapheme', minLength: 1 }).map(encodeURIComponent),
  );
  // Refunds and purchase reads reach real purchases most of the time, and anything else otherwise.
  const purchaseId = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...purchaseIds, purchaseIds[0]!.toUpperCase()) },
    pathId,
  );
  const withdrawalId = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...withdrawalIds) }, pathId);
  const holdId = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...holdIds, purchaseIds[0]!) }, pathId);
  const userId = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(buyer.userId, author.userId, stranger.userId) },
    fc.constant(ADMIN_USER_ID),
    fc.uuid(),
    headerValue,
    fc.constant([buyer.userId, stranger.userId]).map((ids) => [...ids]),
  );
  const query = fc.oneof(
    fc.constant(''),
    fc
      .record({ limit: fc.oneof(headerValue, numbers.map(String)), cursor: headerValue }, { requiredKeys: [] })
      .map((q) => `?${new URLSearchParams(q as Record<string, string>).toString()}`),
    fc.constantFrom('?limit=1&limit=2', '?cursor=%00', '?from=2020-13-45&to=yesterday', '?limit=1e3', '?__proto__[x]=1'),
  );
  const endpoint = fc.oneof(
    fc.constant({ method: 'POST', path: () => fc.constant('/wallets'), body: bodyLike({}) }),
    fc.constant({ method: 'GET', path: () => pathId.map((id) => `/wallets/${id}`), body: fc.constant(undefined) }),
    fc.constant({
      method: 'GET',
      path: () => fc.tuple(pathId, query).map(([id, q]) => `/wallets/${id}/ledger${q}`),
      body: fc.constant(undefined),
    }),
    fc.constant({ method: 'POST', path: () => pathId.map((id) => `/wallets/${id}/deposit`), body: bodyLike({ amount: 100 }) }),
    fc.constant({
      method: 'POST',
      path: () => pathId.map((id) => `/wallets/${id}/withdrawals`),
      body: bodyLike({ amount: 100 }),
    }),
    fc.constant({
      method: 'POST',
      path: () => fc.constant('/purchases'),
      body: bodyLike({ buyerWalletId: buyer.id, authorWalletId: author.id, itemPrice: 100 }),
    }),
    fc.constant({ method: 'GET', path: () => purchaseId.map((id) => `/purchases/${id}`), body: fc.constant(undefined) }),
    fc.constant({
      method: 'POST',
      path: () => purchaseId.map((id) => `/purchases/${id}/refunds`),
      body: bodyLike({ amount: 10, reason: 'customer_request' }),
    }),
    fc.constant({
      method: 'GET',
      path: () => fc.tuple(pathId, query).map(([id, q]) => `/wallets/${id}/royalties${q}`),
      body: fc.constant(undefined),
    }),
    fc.constant({
      method: 'POST',
      path: () => fc.constant('/reports/financial'),
      body: bodyLike({ from: '2026-01-01T00:00:00Z', to: '2026-02-01T00:00:00Z' }),
    }),
    fc.constant({ method: 'GET', path: () => pathId.map((id) => `/reports/financial/${id}`), body: fc.constant(undefined) }),
    fc.constant({ method: 'GET', path: () => query.map((q) => `/reports/authors/top${q}`), body: fc.constant(undefined) }),
    fc.constant({ method: 'POST', path: () => fc.constant('/admin/reconciliations'), body: bodyLike({}) }),
    fc.constant({ method: 'GET', path: () => withdrawalId.map((id) => `/withdrawals/${id}`), body: fc.constant(undefined) }),
    fc.constant({ method: 'POST', path: () => holdId.map((id) => `/purchases/${id}/capture`), body: bodyLike({ amount: 10 }) }),
    fc.constant({ method: 'POST', path: () => holdId.map((id) => `/purchases/${id}/void`), body: bodyLike({}) }),
    fc.constant({
      method: 'POST',
      path: () => fc.constant('/purchases'),
      body: bodyLike({ buyerWalletId: buyer.id, authorWalletId: author.id, itemPrice: 100, capture: false }),
    }),
    fc.constant({ method: 'POST', path: () => withdrawalId.map((id) => `/withdrawals/${id}/settle`), body: bodyLike({}) }),
    fc.constant({
      method: 'POST',
      path: () => withdrawalId.map((id) => `/withdrawals/${id}/fail`),
      body: bodyLike({ reason: 'account_closed' }),
    }),
    fc.constant({
      method: 'GET',
      path: () =>
        fc
          .tuple(pathId, query, fc.constantFrom('', '&status=pending', '&status=paid', '&status=lost', '&status='))
          .map(([id, q, status]) => `/wallets/${id}/withdrawals${q === '' && status !== '' ? '?' : q}${status}`),
      body: fc.constant(undefined),
    }),
    fc.constant({
      method: 'PUT',
      path: () => pathId.map((id) => `/wallets/${id}/payout-destination`),
      body: bodyLike({ destination: 'acct_fuzz' }),
    }),
    // Payout runs only by callers who may not start one: a run by an admin would pay out the world's wallets.
    fc.constant({ method: 'POST', path: () => fc.constant('/admin/payout-runs'), body: bodyLike({}) }),
    fc.constant({ method: 'GET', path: () => pathId.map((id) => `/admin/reconciliations/${id}`), body: fc.constant(undefined) }),
    // Items, terms and splits, search and statements (ADR 0045, 0046).
    fc.constant({
      method: 'POST',
      path: () => fc.constant('/purchases'),
      body: bodyLike({ buyerWalletId: buyer.id, itemId: 'fuzz-item', itemPrice: 99, metadata: { orderId: 'A-1' } }),
    }),
    fc.constant({
      method: 'PUT',
      path: () => fc.constantFrom('/royalty-terms/fuzz-item', '/royalty-terms/%2F..%2F', '/royalty-terms/' + 'x'.repeat(201)),
      body: bodyLike({ royaltyPercent: 70, payees: [{ walletId: author.id, share: 10_000 }] }),
    }),
    fc.constant({ method: 'GET', path: () => fc.constantFrom('/royalty-terms/fuzz-item', '/royalty-terms/%00'), body: fc.constant(undefined) }),
    fc.constant({
      method: 'GET',
      path: () =>
        fc
          .tuple(pathId, query, fc.constantFrom('buyerWalletId', 'authorWalletId', 'itemId'))
          .map(([id, q, filter]) => `/purchases?${filter}=${id}${q.replace('?', '&')}`),
      body: fc.constant(undefined),
    }),
    fc.constant({
      method: 'GET',
      path: () =>
        fc
          .tuple(pathId, fc.constantFrom('', '?at=', '?at=2026-01-01', '?at=9999-99-99', '?at=2026-01-01T00:00:00+25:00'))
          .map(([id, at]) => `/wallets/${id}/balance${at}`),
      body: fc.constant(undefined),
    }),
    fc.constant({
      method: 'GET',
      path: () =>
        fc
          .tuple(pathId, query, fc.constantFrom('', '&type=purchase', '&type=gift', '&from=2026-01-01', '&to=x'))
          .map(([id, q, extra]) => `/wallets/${id}/ledger${q === '' && extra !== '' ? '?' + extra.slice(1) : q + extra}`),
      body: fc.constant(undefined),
    }),
    fc.constant({
      method: 'GET',
      path: () => fc.tuple(pathId, query).map(([id, q]) => `/wallets/${id}/statement.csv${q}`),
      body: fc.constant(undefined),
    }),
    fc.constant({
      method: 'GET',
      path: () => fc.constantFrom('/../../etc/passwd', '/wallets/../admin', '/%2e%2e/%2e%2e/etc/passwd', '/api/../../package.json'),
      body: fc.constant(undefined),
    }),
  );
  return endpoint.chain((e) =>
    fc
      .record({
        path: e.path(),
        body: e.body,
        userId,
        idempotencyKey: fc.option(fc.oneof(fc.uuid(), headerValue, fc.constant([randomUUID(), randomUUID()]).map((keys) => [...keys])), {
          nil: undefined,
        }),
        contentType: fc.oneof(
          { weight: 6, arbitrary: fc.constant('application/json') },
          fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', 'application/xml'),
          fc.constant(undefined),
          headerValue,
        ),
        method: fc.oneof({ weight: 9, arbitrary: fc.constant(e.method) }, fc.constantFrom('PUT', 'DELETE', 'PATCH')),
      })
      .map((r) => {
        const headers: Record<string, string | string[]> = { 'x-user-id': r.userId };
        if (r.idempotencyKey !== undefined) headers['idempotency-key'] = r.idempotencyKey;
        if (r.body !== undefined) {
          if (r.contentType !== undefined) headers['content-type'] = r.contentType;
          headers['content-length'] = String(Buffer.byteLength(r.body));
        }
        // An admin's payout run would pay out the world's wallets: payout runs are fuzzed as anyone else.
        if (r.path === '/admin/payout-runs' && headers['x-user-id'] === ADMIN_USER_ID) headers['x-user-id'] = stranger.userId;
        return { method: r.method, path: r.path, headers, body: r.body };
      }),
  );
}

describe('fuzzing every endpoint (e2e)', () => {
  let world: World;

  beforeAll(async () => {
    const t = await startTestApp();
    const buyer = await createWallet(t.api, 1_000_000);
    const author = await createWallet(t.api);
    const purchaseIds: string[] = [];
    for (let i = 0; i < WORLD_PURCHASES; i++) {
      const bought = await purchase(t.api, buyer, author, WORLD_PURCHASE_CENTS);
      if (bought.status !== 201) throw new Error(`purchase failed: ${bought.status} ${JSON.stringify(bought.body)}`);
      purchaseIds.push(bought.body.id as string);
    }
    const stranger = await createWallet(t.api, 500);
    const withdrawalIds: string[] = [];
    for (let i = 0; i < 3; i++) {
      const created = await t.api.post(`/wallets/${stranger.id}/withdrawals`, {
        userId: stranger.userId,
        idempotencyKey: randomUUID(),
        body: { amount: 10 },
      });
      if (created.status !== 201) throw new Error(`withdrawal failed: ${created.status} ${JSON.stringify(created.body)}`);
      withdrawalIds.push(created.body.id as string);
    }
    const holdIds: string[] = [];
    for (let i = 0; i < 3; i++) {
      const held = await t.api.post('/purchases', {
        userId: buyer.userId,
        idempotencyKey: randomUUID(),
        body: { buyerWalletId: buyer.id, authorWalletId: author.id, itemPrice: 100, capture: false },
      });
      if (held.status !== 201) throw new Error(`authorize failed: ${held.status} ${JSON.stringify(held.body)}`);
      holdIds.push(held.body.id as string);
    }
    world = { t, buyer, author, stranger, purchaseIds, withdrawalIds, holdIds };
  });
  afterAll(async () => {
    await world.t.close();
  });

  /** Everything a request could change; compared around every rejected one. */
  async function snapshot(): Promise<string> {
    const [row] = await world.t.db.sql`
      SELECT (SELECT count(*) FROM ledger_entries)::text AS entries,
             (SELECT count(*) FROM purchases)::text AS purchases,
             (SELECT count(*) FROM refunds)::text AS refunds,
             (SELECT count(*) FROM withdrawals)::text AS withdrawals,
             (SELECT count(*) FROM withdrawal_outcomes)::text AS payout_outcomes,
             (SELECT string_agg(wallet_id || destination, ',' ORDER BY wallet_id) FROM payout_destinations) AS destinations,
             (SELECT count(*) FROM payout_runs)::text AS payout_runs,
             (SELECT string_agg(id || status, ',' ORDER BY id) FROM holds) AS holds,
             (SELECT coalesce(sum(held_balance), 0) FROM wallets)::text AS held,
             (SELECT coalesce(sum(debt), 0) FROM wallets)::text AS debts,
             (SELECT count(*) FROM wallets)::text AS wallets,
             (SELECT coalesce(sum(balance), 0) FROM wallets)::text AS balances,
             (SELECT coalesce(sum(fractional_balance), 0) FROM wallets)::text AS carries`;
    return JSON.stringify(row);
  }

  function expectWellFormed(fuzz: FuzzRequest, response: RawResponse): void {
    const context = `${fuzz.method} ${fuzz.path} -> ${response.status} ${response.text.slice(0, 300)}`;
    expect({ context, serverError: response.status >= 500 }).toEqual({ context, serverError: false });
    expect({ context, leaked: LEAK.test(response.text) }).toEqual({ context, leaked: false });
    if (response.status >= 400) {
      expect({ context, type: response.headers['content-type'] }).toEqual({
        context,
        type: expect.stringContaining('application/problem+json'),
      });
      const problem = JSON.parse(response.text) as { status: number; requestId: string };
      expect(problem.status).toBe(response.status);
      expect(problem.requestId).toBe(response.headers['x-request-id']);
    }
  }

  it('answers any request below 500, without internals, and a rejection changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fuzzRequests(world), async (fuzz) => {
        const before = await snapshot();
        const response = await send(world.t.baseUrl, fuzz);
        expectWellFormed(fuzz, response);
        if (response.status >= 400) expect(await snapshot()).toBe(before);
      }),
      { numRuns: 1_200 },
    );
    await expectBooksBalanced(world.t.db.sql);
  });

  it('refuses every malformed money request and moves nothing', async () => {
    const { buyer, author, purchaseIds } = world;
    // Only invalid amounts: each of these must be a 400.
    const badAmount = fc.oneof(
      fc.integer({ max: 0 }),
      fc.integer({ min: 1_000_000_001 }),
      fc.double().filter((n) => !Number.isInteger(n)),
      fc.constantFrom(Number.MAX_SAFE_INTEGER + 2, 1e308, -0.5, 0.1, '100', '1e2', null, true, [100], { value: 100 }),
      fc.string(),
    );
    const operation = fc.constantFrom('deposit', 'withdrawal', 'purchase', 'refund');
    await fc.assert(
      fc.asyncProperty(operation, badAmount, async (kind, amount) => {
        const before = await snapshot();
        const [path, body, caller] =
          kind === 'purchase'
            ? ['/purchases', { buyerWalletId: buyer.id, authorWalletId: author.id, itemPrice: amount }, buyer]
            : kind === 'refund'
              ? // The author may refund its sale: only the amount stands between this request and a refund.
                [`/purchases/${purchaseIds[0]}/refunds`, { amount, reason: 'customer_request' }, author]
              : [`/wallets/${buyer.id}/${kind === 'deposit' ? 'deposit' : 'withdrawals'}`, { amount }, buyer];
        const payload = JSON.stringify(body);
        const fuzz: FuzzRequest = {
          method: 'POST',
          path,
          headers: {
            'x-user-id': caller.userId,
            'idempotency-key': randomUUID(),
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(payload)),
          },
          body: payload,
        };
        const response = await send(world.t.baseUrl, fuzz);
        expectWellFormed(fuzz, response);
        expect({ kind, amount, status: response.status }).toEqual({ kind, amount, status: 400 });
        expect(await snapshot()).toBe(before);
      }),
      { numRuns: 200 },
    );
  });

  it('keeps refunds idempotent and within the price, whatever the callers, keys and amounts', async () => {
    const { t, buyer, author, stranger } = world;
    const priceCents = 300;
    const keyPoolSize = 3;
    const callerIds = { author: author.userId, admin: ADMIN_USER_ID, buyer: buyer.userId, stranger: stranger.userId };
    type CallerName = keyof typeof callerIds;
    const step = fc.record({
      // 0 and 1 are the run's purchases; 2 is one that does not exist.
      purchase: fc.nat({ max: 2 }),
      caller: fc.oneof(
        { weight: 3, arbitrary: fc.constant<CallerName>('author') },
        { weight: 2, arbitrary: fc.constant<CallerName>('admin') },
        fc.constantFrom<CallerName>('buyer', 'stranger'),
      ),
      // A small pool, so that keys come back: with the same request, another amount or another purchase.
      key: fc.nat({ max: keyPoolSize - 1 }),
      amount: fc.option(
        fc.oneof(
          { weight: 2, arbitrary: fc.integer({ min: 1, max: priceCents / 2 }) },
          { weight: 2, arbitrary: fc.integer({ min: 1, max: priceCents + 20 }) },
          fc.integer({ min: priceCents + 1, max: REFUND_AMOUNT_CENTS_MAX }),
        ),
        { nil: undefined },
      ),
      reason: fc.option(fc.constantFrom('customer_request', 'chargeback'), { nil: undefined }),
    });
    // 'again' resends the previous request as it was: the retry a client makes after a lost answer.
    const plans = fc.array(fc.oneof({ weight: 3, arbitrary: step }, fc.constant('again' as const)), { maxLength: 10 });
    // Any key the pattern allows, after a prefix of the run's own (the callers are the same in every run).
    const keySuffixes = fc.array(fc.stringMatching(/^[A-Za-z0-9_.:-]{0,200}$/), { minLength: keyPoolSize, maxLength: keyPoolSize });

    await fc.assert(
      fc.asyncProperty(plans, keySuffixes, async (plan, suffixes) => {
        const purchaseIds: string[] = [];
        for (let i = 0; i < 2; i++) {
          const bought = await purchase(t.api, buyer, author, priceCents);
          expect(bought.status).toBe(201);
          purchaseIds.push(bought.body.id as string);
        }
        purchaseIds.push(randomUUID());
        const keys = suffixes.map((suffix) => `${randomUUID()}${suffix}`);
        const refundedCents = [0, 0, 0];
        // The model: each caller's key and the refund it first succeeded with (a refused key stays free).
        const acknowledged = new Map<string, { request: string; body: unknown }>();
        const steps = plan.flatMap((entry, at) =>
          entry !== 'again' ? [entry] : plan.slice(0, at).filter((earlier) => earlier !== 'again').slice(-1),
        );

        for (const { purchase: index, caller, key, amount, reason } of steps) {
          const purchaseId = purchaseIds[index]!;
          const body: { amount?: number; reason?: string } = {};
          if (amount !== undefined) body.amount = amount;
          if (reason !== undefined) body.reason = reason;
          const payload = JSON.stringify(body);
          const fuzz: FuzzRequest = {
            method: 'POST',
            path: `/purchases/${purchaseId}/refunds`,
            headers: {
              'x-user-id': callerIds[caller],
              'idempotency-key': keys[key]!,
              'content-type': 'application/json',
              'content-length': String(Buffer.byteLength(payload)),
            },
            body: payload,
          };
          const before = await snapshot();
          const response = await send(t.baseUrl, fuzz);
          expectWellFormed(fuzz, response);
          const answer = { status: response.status, code: (JSON.parse(response.text) as { code?: string }).code };

          const request = JSON.stringify([purchaseId, amount ?? null, reason ?? null]);
          const earlier = acknowledged.get(`${caller}:${key}`);
          const remainingCents = priceCents - refundedCents[index]!;
          const wantedCents = amount ?? remainingCents;
          if (caller === 'buyer' || caller === 'stranger' || index === 2) {
            expect(answer).toEqual({ status: 404, code: 'PURCHASE_NOT_FOUND' });
          } else if (earlier !== undefined && earlier.request === request) {
            expect(answer.status).toBe(201);
            expect(response.headers['idempotent-replayed']).toBe('true');
            expect(JSON.parse(response.text)).toEqual(earlier.body);
          } else if (earlier !== undefined) {
            expect(answer).toEqual({ status: 422, code: 'IDEMPOTENCY_KEY_REUSED' });
          } else if (wantedCents < 1 || wantedCents > remainingCents) {
            expect(answer).toEqual({ status: 422, code: 'REFUND_EXCEEDS_REMAINING' });
          } else {
            expect(answer.status).toBe(201);
            expect(response.headers['idempotent-replayed']).toBeUndefined();
            const refund = JSON.parse(response.text) as { amount: number; authorAmount: number; platformAmount: number };
            expect(refund).toMatchObject({ purchaseId, amount: wantedCents, reason: reason ?? null });
            expect(refund.authorAmount + refund.platformAmount).toBe(wantedCents);
            acknowledged.set(`${caller}:${key}`, { request, body: refund });
            refundedCents[index] = refundedCents[index]! + wantedCents;
          }
          if (response.status >= 400) expect(await snapshot()).toBe(before);
        }

        for (const [index, purchaseId] of purchaseIds.slice(0, 2).entries()) {
          const read = await t.api.get(`/purchases/${purchaseId}`, { userId: buyer.userId });
          const refunded = refundedCents[index]!;
          expect(read.body).toMatchObject({
            refundedAmount: refunded,
            status: refunded === 0 ? 'completed' : refunded === priceCents ? 'refunded' : 'partially_refunded',
          });
        }
      }),
      { numRuns: 30 },
    );
    await expectBooksBalanced(t.db.sql);
  });

  it.each(['/purchases', '/wallets', '/reports/financial', '/admin/reconciliations', 'deposit', 'withdrawals', 'refunds'])(
    'refuses deeply nested JSON at %s with 400, for admins too',
    async (target) => {
      const path = target.startsWith('/')
        ? target
        : target === 'refunds'
          ? `/purchases/${world.purchaseIds[0]}/refunds`
          : `/wallets/${world.buyer.id}/${target}`;
      const payload = `${'['.repeat(5_000)}${']'.repeat(5_000)}`;
      // The author of the refunded purchase and an admin may both refund; the buyer may deposit and buy.
      const callers = target === 'refunds' ? [world.author.userId, ADMIN_USER_ID] : [world.buyer.userId, ADMIN_USER_ID];
      for (const userId of callers) {
        const fuzz: FuzzRequest = {
          method: 'POST',
          path,
          headers: { 'x-user-id': userId, 'idempotency-key': randomUUID(), 'content-type': 'application/json' },
          body: payload,
        };
        const before = await snapshot();
        const response = await send(world.t.baseUrl, fuzz);
        expectWellFormed(fuzz, response);
        expect(response.status).toBe(400);
        expect(await snapshot()).toBe(before);
      }
    },
  );

  it.each(['deposit', 'refunds'])('refuses oversized bodies at %s with 413 before reading them', async (target) => {
    const payload = JSON.stringify({ amount: 100, pad: 'x'.repeat(64 * 1024) });
    const fuzz: FuzzRequest = {
      method: 'POST',
      path: target === 'refunds' ? `/purchases/${world.purchaseIds[0]}/refunds` : `/wallets/${world.buyer.id}/deposit`,
      headers: {
        'x-user-id': target === 'refunds' ? world.author.userId : world.buyer.userId,
        'idempotency-key': randomUUID(),
        'content-type': 'application/json',
      },
      body: payload,
    };
    const before = await snapshot();
    const response = await send(world.t.baseUrl, fuzz);
    expect(response.status).toBe(413);
    expectWellFormed(fuzz, response);
    expect(await snapshot()).toBe(before);
  });
});
