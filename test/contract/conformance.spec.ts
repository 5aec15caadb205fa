import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { Observable } from 'rxjs';
import { createWallet, purchase, TestWallet } from '../factories/wallets.factory';
import { OpenApiContract } from '../setup/openapi-contract';
import { ADMIN_USER_ID, startTestApp, TestApp } from '../setup/test-app';

/**
 * Every operation of docs/openapi.json, and every status it documents, answered by a real
 * instance and judged by the document (ADR 0043): a response the document does not describe
 * fails, and so does a request on which the document and the service disagree (the document
 * refuses what the service accepts, or the service refuses with 400/401/413/415 what the
 * document allows), unless the case says the rule is one a schema cannot state.
 */

const FAULT_HEADER = 'x-contract-fault';

/**
 * 500 and 503 on demand: an unexpected error, or a database that refuses connections, thrown
 * where a handler would run, so that the real exception filter renders them for every operation.
 * (Real outages are the fault tier's business, `npm run test:faults`.)
 */
@Injectable()
class FaultInjector implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const fault = context.switchToHttp().getRequest<FastifyRequest>().headers[FAULT_HEADER];
    if (fault === 'internal') throw new Error('injected fault');
    if (fault === 'database-down') throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    return next.handle();
  }
}

interface Case {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  userId?: string;
  headers?: Record<string, string>;
  body?: unknown;
  /** Sent as-is (with Content-Type application/json unless `headers` says otherwise). */
  rawBody?: string;
  /** A 400 for a rule no schema can state (two fields compared, a wallet that must exist). */
  semantic?: boolean;
}

interface Answer {
  status: number;
  headers: Headers;
  body: any;
}

const METRICS_TOKEN = 'contract-test-metrics-token';
/** A receiver that refuses connections: deliveries fail and back off (private addresses allowed below). */
const WEBHOOK_URL = 'http://127.0.0.1:9/hook';
/** Statuses by which the service refuses the request itself rather than what it asks for. */
const INPUT_REFUSALS = new Set([400, 401, 413, 415]);

describe('OpenAPI conformance (every operation, every documented status)', () => {
  const contract = new OpenApiContract();
  const seen = new Set<string>();
  const declared: string[] = [];
  const passed = new Set<string>();
  /** `it`, remembering which tests passed, for the coverage check in afterAll. */
  function conformance(name: string, body: () => Promise<void> | void): void {
    declared.push(name);
    it(name, async () => {
      await body();
      passed.add(name);
    });
  }
  let t: TestApp;
  /** A second instance on the same books: one request per caller per minute, metrics behind a token. */
  let limited: TestApp;
  let buyer: TestWallet;
  /** A wallet with a payout destination and nothing to pay out, so payout runs leave the others alone. */
  let payee: TestWallet;
  let author: TestWallet;
  let purchaseId: string;
  let termsItemId: string;
  let jobId: string;
  let runId: string;
  let eventId: string;
  let endpointId: string;
  let deletableEndpointId: string;
  /** Pending payouts for the settle and fail cases: each success uses up one. */
  const pendingWithdrawalIds: string[] = [];
  let withdrawalId: string;
  /** Authorized holds of the buyer, for the capture and void cases: each success uses up one. */
  const holdIds: string[] = [];
  const nextHold = (): string => {
    const id = holdIds.shift();
    if (!id) throw new Error('the conformance suite ran out of holds: authorize more in beforeAll');
    return id;
  };
  const nextPendingWithdrawal = (): string => {
    const id = pendingWithdrawalIds.shift();
    if (!id) throw new Error('the conformance suite ran out of pending withdrawals: create more in beforeAll');
    return id;
  };

  async function exchange(app: TestApp, request: Case, expected: number): Promise<Answer> {
    const headers: Record<string, string> = { ...request.headers };
    if (request.userId) headers['x-user-id'] = request.userId;
    const body = request.rawBody ?? (request.body === undefined ? undefined : JSON.stringify(request.body));
    if (body !== undefined && !Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) {
      headers['content-type'] = 'application/json';
    }
    const requestProblems = contract.requestProblems({ method: request.method, url: request.path, headers, body });
    const response = await fetch(`${app.baseUrl}${request.path}`, { method: request.method, headers, body });
    const text = await response.text();
    const label = `${request.method} ${request.path} -> ${response.status}`;
    const matched = contract.match(request.method, new URL(request.path, app.baseUrl).pathname);
    expect({ label, operation: matched?.operation.key ?? 'none' }).toEqual({ label, operation: expect.stringMatching(/^(GET|POST|PUT|PATCH|DELETE) \//) });
    expect({ label, responseProblems: contract.responseProblems(matched!.operation.key, { status: response.status, headers: response.headers, body: text }) }).toEqual({
      label,
      responseProblems: [],
    });
    if (!request.semantic) {
      // The document refuses exactly what the service refuses as input.
      const refused = INPUT_REFUSALS.has(response.status);
      expect({ label, documentRefuses: requestProblems.length > 0, requestProblems }).toEqual({
        label,
        documentRefuses: refused,
        requestProblems: refused ? expect.any(Array) : [],
      });
    } else {
      expect({ label, requestProblems }).toEqual({ label, requestProblems: [] });
    }
    expect({ label, status: response.status }).toEqual({ label, status: expected });
    seen.add(`${matched!.operation.key} ${response.status}`);
    const json = (response.headers.get('content-type') ?? '').includes('json') && text.length > 0;
    return { status: response.status, headers: response.headers, body: json ? JSON.parse(text) : text };
  }

  /** A request the document and the service both accept, per operation; `caller` stands in for the owner. */
  function validRequest(key: string, caller?: string): Case {
    const owner = caller ?? buyer.userId;
    const admin = caller ?? ADMIN_USER_ID;
    const idempotencyKey = { 'idempotency-key': randomUUID() };
    const cases: Record<string, Case> = {
      'GET /health': { method: 'GET', path: '/health' },
      'GET /health/ready': { method: 'GET', path: '/health/ready' },
      'GET /metrics': { method: 'GET', path: '/metrics' },
      'POST /wallets': { method: 'POST', path: '/wallets', userId: caller ?? randomUUID() },
      'GET /wallets/{walletId}': { method: 'GET', path: `/wallets/${buyer.id}`, userId: owner },
      'GET /wallets/{walletId}/ledger': { method: 'GET', path: `/wallets/${buyer.id}/ledger?limit=2`, userId: owner },
      'POST /wallets/{walletId}/deposit': { method: 'POST', path: `/wallets/${buyer.id}/deposit`, userId: owner, body: { amount: 1 } },
      'POST /wallets/{walletId}/withdrawals': {
        method: 'POST',
        path: `/wallets/${buyer.id}/withdrawals`,
        userId: owner,
        headers: idempotencyKey,
        body: { amount: 1 },
      },
      'GET /wallets/{walletId}/withdrawals': { method: 'GET', path: `/wallets/${buyer.id}/withdrawals?status=pending&limit=2`, userId: owner },
      'PUT /wallets/{walletId}/payout-destination': {
        method: 'PUT',
        path: `/wallets/${payee.id}/payout-destination`,
        userId: caller ?? payee.userId,
        body: { destination: 'acct_conformance' },
      },
      'GET /withdrawals/{withdrawalId}': { method: 'GET', path: `/withdrawals/${withdrawalId}`, userId: owner },
      'POST /withdrawals/{withdrawalId}/settle': { method: 'POST', path: `/withdrawals/${pendingWithdrawalIds[0]}/settle`, userId: admin },
      'POST /withdrawals/{withdrawalId}/fail': {
        method: 'POST',
        path: `/withdrawals/${pendingWithdrawalIds[0]}/fail`,
        userId: admin,
        body: { reason: 'account_closed' },
      },
      'POST /admin/payout-runs': { method: 'POST', path: '/admin/payout-runs', userId: admin, headers: idempotencyKey },
      'POST /purchases/{purchaseId}/capture': { method: 'POST', path: `/purchases/${holdIds[0]}/capture`, userId: owner, body: { amount: 1 } },
      'POST /purchases/{purchaseId}/void': { method: 'POST', path: `/purchases/${holdIds[0]}/void`, userId: owner },
      'POST /purchases': {
        method: 'POST',
        path: '/purchases',
        userId: owner,
        headers: idempotencyKey,
        body: { buyerWalletId: buyer.id, authorWalletId: author.id, itemPrice: 99 },
      },
      'GET /purchases/{purchaseId}': { method: 'GET', path: `/purchases/${purchaseId}`, userId: owner },
      'GET /purchases': { method: 'GET', path: `/purchases?buyerWalletId=${buyer.id}&limit=2`, userId: owner },
      'GET /wallets/{walletId}/balance': { method: 'GET', path: `/wallets/${buyer.id}/balance?at=2026-01-01T00:00:00Z`, userId: owner },
      'GET /wallets/{walletId}/statement.csv': { method: 'GET', path: `/wallets/${buyer.id}/statement.csv?from=2026-01-01`, userId: owner },
      'PUT /royalty-terms/{itemId}': {
        method: 'PUT',
        path: `/royalty-terms/item-${randomUUID()}`,
        userId: admin,
        body: { payees: [{ walletId: author.id, share: 10_000 }] },
      },
      'GET /royalty-terms/{itemId}': { method: 'GET', path: `/royalty-terms/${termsItemId}`, userId: admin },
      // One cent of the 99-cent purchase at a time, by its author.
      'POST /purchases/{purchaseId}/refunds': {
        method: 'POST',
        path: `/purchases/${purchaseId}/refunds`,
        userId: caller ?? author.userId,
        headers: idempotencyKey,
        body: { amount: 1 },
      },
      'POST /reports/financial': { method: 'POST', path: '/reports/financial', userId: admin, body: {} },
      'GET /reports/financial/{jobId}': { method: 'GET', path: `/reports/financial/${jobId}`, userId: admin },
      'GET /reports/authors/top': {
        method: 'GET',
        path: `/reports/authors/top?from=${encodeURIComponent(hourAgo())}&to=${encodeURIComponent(hourAhead())}&limit=5`,
        userId: admin,
      },
      'GET /wallets/{walletId}/royalties': { method: 'GET', path: `/wallets/${author.id}/royalties`, userId: caller ?? author.userId },
      'POST /admin/reconciliations': { method: 'POST', path: '/admin/reconciliations', userId: admin },
      'GET /admin/reconciliations/{runId}': { method: 'GET', path: `/admin/reconciliations/${runId}`, userId: admin },
      'GET /events': { method: 'GET', path: '/events?limit=5', userId: admin },
      'POST /events/{eventId}/redeliver': { method: 'POST', path: `/events/${eventId}/redeliver`, userId: admin, body: {} },
      'POST /webhook-endpoints': {
        method: 'POST',
        path: '/webhook-endpoints',
        userId: admin,
        body: { url: WEBHOOK_URL, eventTypes: ['purchase.completed'] },
      },
      'GET /webhook-endpoints': { method: 'GET', path: '/webhook-endpoints', userId: admin },
      'GET /webhook-endpoints/{endpointId}': { method: 'GET', path: `/webhook-endpoints/${endpointId}`, userId: admin },
      'PATCH /webhook-endpoints/{endpointId}': {
        method: 'PATCH',
        path: `/webhook-endpoints/${endpointId}`,
        userId: admin,
        body: { description: 'conformance' },
      },
      // Its own endpoint: the one success deletes it.
      'DELETE /webhook-endpoints/{endpointId}': { method: 'DELETE', path: `/webhook-endpoints/${deletableEndpointId}`, userId: admin },
      'POST /webhook-endpoints/{endpointId}/rotate-secret': {
        method: 'POST',
        path: `/webhook-endpoints/${endpointId}/rotate-secret`,
        userId: admin,
      },
      'GET /webhook-endpoints/{endpointId}/deliveries': {
        method: 'GET',
        path: `/webhook-endpoints/${endpointId}/deliveries?limit=2`,
        userId: admin,
      },
    };
    const found = cases[key];
    if (!found) throw new Error(`no request for ${key}: add one to this conformance suite`);
    return found;
  }

  const operationKeys = () => contract.operations.map((operation) => operation.key);
  const documents = (key: string, status: number) => contract.documentedPairs().includes(`${key} ${status}`);
  const readsBody = (key: string) => !key.startsWith('GET ');

  beforeAll(async () => {
    t = await startTestApp({
      configure: (app) => app.useGlobalInterceptors(new FaultInjector()),
      env: { WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' },
    });
    limited = await startTestApp({
      database: t.db,
      env: { RATE_LIMIT_PER_SECOND: '0', RATE_LIMIT_PER_MINUTE: '1', METRICS_TOKEN, WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true' },
    });
    buyer = await createWallet(t.api, 100_000);
    author = await createWallet(t.api);
    const bought = await purchase(t.api, buyer, author, 99);
    purchaseId = bought.body.id as string;
    termsItemId = `item-${randomUUID()}`;
    await t.api.request('PUT', `/royalty-terms/${termsItemId}`, { userId: ADMIN_USER_ID, body: { payees: [{ walletId: author.id, share: 10_000 }] } });
    jobId = (await t.api.post('/reports/financial', { userId: ADMIN_USER_ID, body: {} })).body.jobId as string;
    runId = (await t.api.post('/admin/reconciliations', { userId: ADMIN_USER_ID })).body.runId as string;
    eventId = (await t.api.get('/events?limit=1', { userId: ADMIN_USER_ID })).body.items[0].id as string;
    const webhook = { url: WEBHOOK_URL, eventTypes: ['purchase.completed'] };
    endpointId = (await t.api.post('/webhook-endpoints', { userId: ADMIN_USER_ID, body: webhook })).body.id as string;
    deletableEndpointId = (await t.api.post('/webhook-endpoints', { userId: ADMIN_USER_ID, body: webhook })).body.id as string;
    payee = await createWallet(t.api);
    for (let i = 0; i < 12; i++) {
      const created = await t.api.post(`/wallets/${buyer.id}/withdrawals`, { userId: buyer.userId, idempotencyKey: randomUUID(), body: { amount: 1 } });
      pendingWithdrawalIds.push(created.body.id as string);
    }
    withdrawalId = pendingWithdrawalIds[0]!;
    for (let i = 0; i < 12; i++) {
      const held = await t.api.post('/purchases', {
        userId: buyer.userId,
        idempotencyKey: randomUUID(),
        body: { buyerWalletId: buyer.id, authorWalletId: author.id, itemPrice: 2, capture: false },
      });
      holdIds.push(held.body.id as string);
    }
  });

  afterAll(async () => {
    await limited?.close();
    await t?.close();
    // Whatever order the tests below ran in, together they must have drawn every documented
    // status of every operation. Skipped when some did not pass (filtered with -t, or failed).
    if (passed.size < declared.length) return;
    expect(contract.documentedPairs().filter((pair) => !seen.has(pair))).toEqual([]);
  });

  conformance('has a request for every operation of the document', () => {
    for (const key of operationKeys()) expect(() => validRequest(key)).not.toThrow();
  });

  conformance('answers every operation with its documented success', async () => {
    for (const key of operationKeys()) {
      // The highest 2xx: POST /wallets answers 201 to a new caller (200 is an existing wallet, below).
      const successes = Object.keys(contract.operations.find((o) => o.key === key)!.operation.responses).filter((s) => s.startsWith('2'));
      const expected = Math.max(...successes.map(Number));
      await exchange(t, validRequest(key), expected);
      if (key.startsWith('POST /withdrawals/')) nextPendingWithdrawal();
      if (key === 'POST /purchases/{purchaseId}/capture' || key === 'POST /purchases/{purchaseId}/void') nextHold();
    }
  });

  conformance('documents the other successes: an existing wallet, a replay, every ledger page, a completed report', async () => {
    await exchange(t, { method: 'POST', path: '/wallets', userId: buyer.userId }, 200);
    await exchange(t, { method: 'PUT', path: `/royalty-terms/${termsItemId}`, userId: ADMIN_USER_ID, body: { payees: [{ walletId: author.id, share: 10_000 }] } }, 200);
    const again = validRequest('POST /purchases');
    await exchange(t, again, 201);
    const replay = await exchange(t, again, 201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    const first = await exchange(t, { method: 'GET', path: `/wallets/${buyer.id}/ledger?limit=1`, userId: buyer.userId }, 200);
    await exchange(t, { method: 'GET', path: `/wallets/${buyer.id}/ledger?limit=1&cursor=${first.body.nextCursor}`, userId: buyer.userId }, 200);
    await exchange(t, { method: 'GET', path: `/wallets/${author.id}/royalties?from=2026-01-01&to=2026-02-01`, userId: author.userId }, 200);
    const queued = await exchange(t, { method: 'POST', path: '/reports/financial', userId: ADMIN_USER_ID, body: { from: hourAgo(), to: hourAhead() } }, 202);
    // Bounded polling: the worker of this instance builds the report.
    let report: Answer | undefined;
    for (let attempt = 0; attempt < 200 && report?.body.status !== 'completed'; attempt += 1) {
      report = await exchange(t, { method: 'GET', path: `/reports/financial/${queued.body.jobId}`, userId: ADMIN_USER_ID }, 200);
      if (report.body.status !== 'completed') await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(report?.body.status).toBe('completed');
    const top = await exchange(t, validRequest('GET /reports/authors/top'), 200);
    expect(top.body.items.length).toBeGreaterThan(0);
  });

  conformance('answers 400 naming the field, and the document refuses the same input', async () => {
    const admin = ADMIN_USER_ID;
    const owner = buyer.userId;
    const invalid: Record<string, Case> = {
      'POST /wallets': { method: 'POST', path: '/wallets', userId: randomUUID(), rawBody: '{"a":' },
      'GET /wallets/{walletId}': { method: 'GET', path: '/wallets/not-a-uuid', userId: owner },
      'GET /wallets/{walletId}/ledger': { method: 'GET', path: `/wallets/${buyer.id}/ledger?limit=0`, userId: owner },
      'POST /wallets/{walletId}/deposit': { method: 'POST', path: `/wallets/${buyer.id}/deposit`, userId: owner, body: { amount: 1.5 } },
      'POST /wallets/{walletId}/withdrawals': { method: 'POST', path: `/wallets/${buyer.id}/withdrawals`, userId: owner, body: { amount: 1 } },
      'GET /wallets/{walletId}/withdrawals': { method: 'GET', path: `/wallets/${buyer.id}/withdrawals?status=lost`, userId: owner },
      'PUT /wallets/{walletId}/payout-destination': {
        method: 'PUT',
        path: `/wallets/${buyer.id}/payout-destination`,
        userId: owner,
        body: { destination: '' },
      },
      'GET /withdrawals/{withdrawalId}': { method: 'GET', path: '/withdrawals/not-a-uuid', userId: owner },
      'POST /withdrawals/{withdrawalId}/settle': { method: 'POST', path: '/withdrawals/not-a-uuid/settle', userId: admin },
      'POST /withdrawals/{withdrawalId}/fail': { method: 'POST', path: `/withdrawals/${pendingWithdrawalIds[0]}/fail`, userId: admin, body: {} },
      'POST /admin/payout-runs': { method: 'POST', path: '/admin/payout-runs', userId: admin },
      'POST /purchases/{purchaseId}/capture': { method: 'POST', path: `/purchases/${holdIds[0]}/capture`, userId: owner, body: { amount: 1.5 } },
      'POST /purchases/{purchaseId}/void': { method: 'POST', path: '/purchases/not-a-uuid/void', userId: owner },
      'POST /purchases': {
        method: 'POST',
        path: '/purchases',
        userId: owner,
        headers: { 'idempotency-key': randomUUID() },
        body: { buyerWalletId: buyer.id, authorWalletId: author.id, itemPrice: '99' },
      },
      'GET /purchases/{purchaseId}': { method: 'GET', path: '/purchases/123', userId: owner },
      'GET /purchases': { method: 'GET', path: `/purchases?buyerWalletId=${buyer.id}&limit=0`, userId: owner },
      'GET /wallets/{walletId}/balance': { method: 'GET', path: `/wallets/${buyer.id}/balance`, userId: owner },
      'GET /wallets/{walletId}/statement.csv': { method: 'GET', path: `/wallets/${buyer.id}/statement.csv?to=later`, userId: owner },
      'PUT /royalty-terms/{itemId}': { method: 'PUT', path: '/royalty-terms/item-1', userId: admin, body: { payees: [] } },
      'GET /royalty-terms/{itemId}': { method: 'GET', path: '/royalty-terms/has%20space', userId: admin },
      'POST /purchases/{purchaseId}/refunds': {
        method: 'POST',
        path: `/purchases/${purchaseId}/refunds`,
        userId: author.userId,
        headers: { 'idempotency-key': randomUUID() },
        body: { amount: 1.5 },
      },
      'POST /reports/financial': { method: 'POST', path: '/reports/financial', userId: admin, body: { from: 'yesterday', to: 'today' } },
      'GET /reports/financial/{jobId}': { method: 'GET', path: '/reports/financial/x', userId: admin },
      'GET /reports/authors/top': { method: 'GET', path: '/reports/authors/top', userId: admin },
      'GET /wallets/{walletId}/royalties': { method: 'GET', path: `/wallets/${author.id}/royalties?from=soon&to=later`, userId: author.userId },
      'POST /admin/reconciliations': { method: 'POST', path: '/admin/reconciliations', userId: admin, rawBody: '[' },
      'GET /admin/reconciliations/{runId}': { method: 'GET', path: '/admin/reconciliations/0', userId: admin },
      'GET /events': { method: 'GET', path: '/events?limit=0', userId: admin },
      'POST /events/{eventId}/redeliver': { method: 'POST', path: `/events/${eventId}/redeliver`, userId: admin, body: { endpointId: 'x' } },
      'POST /webhook-endpoints': { method: 'POST', path: '/webhook-endpoints', userId: admin, body: { url: WEBHOOK_URL, eventTypes: [] } },
      'GET /webhook-endpoints/{endpointId}': { method: 'GET', path: '/webhook-endpoints/nope', userId: admin },
      'PATCH /webhook-endpoints/{endpointId}': { method: 'PATCH', path: `/webhook-endpoints/${endpointId}`, userId: admin, body: { enabled: 'yes' } },
      'DELETE /webhook-endpoints/{endpointId}': { method: 'DELETE', path: '/webhook-endpoints/nope', userId: admin },
      'POST /webhook-endpoints/{endpointId}/rotate-secret': { method: 'POST', path: '/webhook-endpoints/nope/rotate-secret', userId: admin },
      'GET /webhook-endpoints/{endpointId}/deliveries': { method: 'GET', path: `/webhook-endpoints/${endpointId}/deliveries?limit=0`, userId: admin },
    };
    for (const key of operationKeys().filter((k) => documents(k, 400))) {
      const request = invalid[key];
      if (!request) throw new Error(`no invalid request for ${key}: add one to this conformance suite`);
      const answer = await exchange(t, request, 400);
      expect(answer.body.code).toMatch(/^(VALIDATION_FAILED|BAD_REQUEST)$/);
    }
    // Rules of one field against another, or against the books, that no schema states.
    const semantic: Case[] = [
      { method: 'POST', path: '/purchases', userId: owner, headers: { 'idempotency-key': randomUUID() }, body: { buyerWalletId: buyer.id, authorWalletId: buyer.id, itemPrice: 1 }, semantic: true },
      { method: 'POST', path: '/purchases', userId: owner, headers: { 'idempotency-key': randomUUID() }, body: { buyerWalletId: buyer.id, authorWalletId: randomUUID(), itemPrice: 1 }, semantic: true },
      { method: 'POST', path: '/reports/financial', userId: admin, body: { from: '2026-02-01', to: '2026-01-01' }, semantic: true },
      { method: 'GET', path: '/purchases?from=2026-02-01&to=2026-01-01', userId: admin, semantic: true },
      { method: 'PUT', path: '/royalty-terms/item-2', userId: admin, body: { payees: [{ walletId: author.id, share: 9_999 }] }, semantic: true },
      { method: 'POST', path: '/purchases', userId: owner, headers: { 'idempotency-key': randomUUID() }, body: { buyerWalletId: buyer.id, authorWalletId: author.id, itemPrice: 1, metadata: { ['k'.repeat(41)]: 'v' } }, semantic: true },
      { method: 'GET', path: '/reports/authors/top?from=2026-02-30&to=2026-03-01', userId: admin, semantic: true },
    ];
    for (const request of semantic) await exchange(t, request, 400);
  });

  conformance('answers 401 without an identity wherever one is needed, and 401 for /metrics without its token', async () => {
    for (const key of operationKeys().filter((k) => documents(k, 401))) {
      const anonymous: Case = { ...validRequest(key), userId: undefined };
      // /metrics asks for its token only when METRICS_TOKEN is configured: no schema says that.
      await exchange(key === 'GET /metrics' ? limited : t, { ...anonymous, semantic: key === 'GET /metrics' }, 401);
    }
  });

  conformance('answers 402, 403, 404, 409 and 422 where documented', async () => {
    const stranger = randomUUID();
    await exchange(t, { ...validRequest('POST /wallets/{walletId}/withdrawals'), body: { amount: 1_000_000_000 } }, 402);
    const poor = await createWallet(t.api);
    await exchange(
      t,
      { method: 'POST', path: '/purchases', userId: poor.userId, headers: { 'idempotency-key': randomUUID() }, body: { buyerWalletId: poor.id, authorWalletId: author.id, itemPrice: 5 } },
      402,
    );
    // A search that names no wallet of the caller's is for admins; naming someone else's wallet is the 404 below.
    const forbidden: Record<string, Case> = { 'GET /purchases': { method: 'GET', path: '/purchases?itemId=ebook-1', userId: stranger } };
    for (const key of operationKeys().filter((k) => documents(k, 403))) await exchange(t, forbidden[key] ?? validRequest(key, stranger), 403);
    for (const key of operationKeys().filter((k) => documents(k, 404))) {
      // Settling or failing is for admins (403 to anyone else): the 404 is an admin naming no withdrawal.
      if (key.startsWith('POST /withdrawals/')) {
        const answer = await exchange(t, { ...validRequest(key), path: validRequest(key).path.replace(/[0-9a-f-]{36}/, randomUUID()) }, 404);
        expect(answer.body.code).toBe('WITHDRAWAL_NOT_FOUND');
        continue;
      }
      const request = validRequest(key, stranger);
      await exchange(t, key === 'POST /purchases' ? { ...request, body: { buyerWalletId: randomUUID(), authorWalletId: author.id, itemPrice: 1 } } : request, 404);
    }
    const operations: Record<string, string> = {
      'POST /wallets/{walletId}/deposit': 'deposit',
      'POST /wallets/{walletId}/withdrawals': 'withdrawal',
      'POST /purchases': 'purchase',
      'POST /purchases/{purchaseId}/refunds': 'refund',
    };
    for (const key of operationKeys().filter((k) => documents(k, 409))) {
      // A hold moves on once: capture, void and expiry race, one wins, the rest are conflicts.
      if (key === 'POST /purchases/{purchaseId}/capture' || key === 'POST /purchases/{purchaseId}/void') {
        const request = validRequest(key);
        await exchange(t, request, 200);
        nextHold();
        const answer = await exchange(t, request, 409);
        expect(answer.body.code).toBe('PURCHASE_NOT_AUTHORIZED');
        continue;
      }
      // A payout moves on once: the second transition is a conflict, not a replay.
      if (key.startsWith('POST /withdrawals/')) {
        const request = validRequest(key);
        await exchange(t, request, 200);
        nextPendingWithdrawal();
        const answer = await exchange(t, request, 409);
        expect(answer.body.code).toBe('WITHDRAWAL_NOT_PENDING');
        continue;
      }
      // A claim on the key, as a request still running on some instance would hold it.
      const key409 = randomUUID();
      const request = validRequest(key);
      if (!operations[key]) throw new Error(`no idempotency operation for ${key}: add it to this conformance suite`);
      await t.redis.set(`${t.keyPrefix}idem:{${operations[key]}:${request.userId}:${key409}}:lock`, 'held-by-another-request', 'PX', 60_000);
      const answer = await exchange(t, { ...request, headers: { 'idempotency-key': key409 } }, 409);
      expect(answer.body.code).toBe('IDEMPOTENCY_KEY_IN_FLIGHT');
    }
    // A capture above the authorized price.
    const tooMuch = await exchange(t, { ...validRequest('POST /purchases/{purchaseId}/capture'), body: { amount: 3 } }, 422);
    expect(tooMuch.body.code).toBe('CAPTURE_EXCEEDS_AUTHORIZED');
    // A capture whose buyer fell into debt since the authorization (a refund of its own sale after
    // it withdrew the royalty) is still paid, from the held money (ADR 0018): 200, not 402.
    const debtor = await createWallet(t.api, 1_000);
    const debtorHold = await t.api.post('/purchases', {
      userId: debtor.userId,
      idempotencyKey: randomUUID(),
      body: { buyerWalletId: debtor.id, authorWalletId: author.id, itemPrice: 1_000, capture: false },
    });
    const sale = await purchase(t.api, buyer, debtor, 100);
    await t.api.post(`/wallets/${debtor.id}/withdrawals`, { userId: debtor.userId, idempotencyKey: randomUUID(), body: { amount: 70 } });
    await t.api.post(`/purchases/${sale.body.id}/refunds`, { userId: debtor.userId, idempotencyKey: randomUUID(), body: {} });
    const paid = await exchange(t, { method: 'POST', path: `/purchases/${debtorHold.body.id}/capture`, userId: debtor.userId, body: {} }, 200);
    expect(paid.body).toMatchObject({ status: 'completed', itemPrice: 1_000 });
    expect((await t.api.get(`/wallets/${debtor.id}`, { userId: debtor.userId })).body.debt).toBeGreaterThan(0);
    // PAYOUT_BELOW_MINIMUM is a 422 of its own, drawn with a minimum above the amount.
    const strict = await startTestApp({ database: t.db, env: { PAYOUT_MINIMUM_CENTS: '2' } });
    try {
      const belowMinimum = await exchange(strict, validRequest('POST /wallets/{walletId}/withdrawals'), 422);
      expect(belowMinimum.body.code).toBe('PAYOUT_BELOW_MINIMUM');
    } finally {
      await strict.close();
    }
    // A key that resolved one hold, sent again for another: 422 (the transition itself would be a 409).
    for (const key of ['POST /purchases/{purchaseId}/capture', 'POST /purchases/{purchaseId}/void']) {
      const reused = { 'idempotency-key': randomUUID() };
      await exchange(t, { ...validRequest(key), headers: reused }, 200);
      nextHold();
      const again = await exchange(t, { ...validRequest(key), headers: reused }, 422);
      expect(again.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    }
    const holdKeys = new Set(['POST /purchases/{purchaseId}/capture', 'POST /purchases/{purchaseId}/void']);
    for (const key of operationKeys().filter((k) => documents(k, 422) && !holdKeys.has(k))) {
      const request = { ...validRequest(key), headers: { 'idempotency-key': randomUUID() } };
      await exchange(t, request, 201);
      const body = key === 'POST /purchases' ? { ...(request.body as object), itemPrice: 98 } : { amount: 2 };
      await exchange(t, { ...request, body }, 422);
    }
  });

  conformance('answers 413 and 415 wherever a body is read', async () => {
    for (const key of operationKeys().filter(readsBody)) {
      const request = validRequest(key);
      await exchange(t, { ...request, rawBody: JSON.stringify({ padding: 'x'.repeat(17 * 1024) }) }, 413);
      await exchange(t, { ...request, rawBody: 'hello', headers: { ...request.headers, 'content-type': 'text/plain' } }, 415);
    }
  });

  conformance('answers 429 with Retry-After and RateLimit headers once a caller is over its limit', async () => {
    for (const key of operationKeys().filter((k) => documents(k, 429))) {
      const caller = randomUUID();
      const request = validRequest(key, caller);
      const first = await fetch(`${limited.baseUrl}${request.path}`, {
        method: request.method,
        headers: { 'x-user-id': caller, ...request.headers, ...(request.body ? { 'content-type': 'application/json' } : {}) },
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
      });
      expect(first.status).not.toBe(429);
      await first.text();
      const answer = await exchange(limited, request, 429);
      expect(answer.headers.get('ratelimit-remaining')).toBe('0');
    }
  });

  conformance('answers 500 and 503 (with Retry-After) for every operation, as problem details', async () => {
    for (const key of operationKeys()) {
      const request = validRequest(key);
      const internal = await exchange(t, { ...request, headers: { ...request.headers, [FAULT_HEADER]: 'internal' } }, 500);
      expect(internal.body.code).toBe('INTERNAL_ERROR');
      const unavailable = await exchange(t, { ...validRequest(key), headers: { ...validRequest(key).headers, [FAULT_HEADER]: 'database-down' } }, 503);
      expect(unavailable.body.code).toBe('SERVICE_UNAVAILABLE');
    }
  });

});

function hourAgo(): string {
  return new Date(Date.now() - 3_600_000).toISOString();
}

function hourAhead(): string {
  return new Date(Date.now() + 3_600_000).toISOString();
}
