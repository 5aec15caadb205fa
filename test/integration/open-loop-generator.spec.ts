import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BenchRequest, BenchResponse, ClientScript } from '../../bench/load';
import { runOpenLoop } from '../../bench/open-loop';

/**
 * The open-loop generator of `npm run bench` (ADR 0039) against a stub server on loopback: it
 * keeps sending on schedule while no answer comes, and counts latency from each request's
 * scheduled instant. No assertion depends on how fast this machine is: the bounds below follow
 * from the schedule alone.
 */

const RATE_PER_SECOND = 200;
const INTERVAL_MS = 1_000 / RATE_PER_SECOND;

interface Stub {
  port: number;
  /** Requests received so far. */
  received(): number;
  close(): Promise<void>;
}

/** Answers 201 with a JSON body; holds every answer until `holdUntil` requests have arrived. */
async function startStub(holdUntil: number): Promise<Stub> {
  let received = 0;
  const held: Array<() => void> = [];
  const server = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      received += 1;
      const answer = () => {
        const body = JSON.stringify({ n: received, path: request.url });
        response.writeHead(201, { 'content-type': 'application/json', 'idempotent-replayed': 'false' });
        response.end(body);
      };
      if (received < holdUntil) {
        held.push(answer);
        return;
      }
      for (const release of held.splice(0)) release();
      answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    received: () => received,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function recordingScript(): ClientScript & { outcomes: Array<{ path: string; status: number | undefined; latencyMs: number }> } {
  let sent = 0;
  const outcomes: Array<{ path: string; status: number | undefined; latencyMs: number }> = [];
  return {
    outcomes,
    next(): BenchRequest {
      sent += 1;
      return { method: 'POST', path: `/r/${sent}`, headers: { 'x-test': 'open-loop' }, body: '{"a":1}' };
    },
    done(request: BenchRequest, response: BenchResponse | undefined, latencyMs: number) {
      outcomes.push({ path: request.path, status: response?.status, latencyMs });
    },
  };
}

describe('open-loop generator (bench)', () => {
  it('sends every scheduled request whatever the answers, and gives each one an outcome', async () => {
    const stub = await startStub(0);
    try {
      const script = recordingScript();
      const result = await runOpenLoop({
        port: stub.port,
        ratePerSecond: RATE_PER_SECOND,
        warmupMs: 100,
        durationMs: 500,
        connections: 50,
        requestTimeoutMs: 10_000,
        script,
      });
      // The schedule alone fixes the counts: 500 ms at one request every 5 ms, after 100 ms.
      expect(result.measuredRequests).toBe(100);
      expect(result.latencyUs.totalCount).toBe(100);
      expect(result.latenessUs.totalCount).toBe(100);
      expect(result.statuses).toEqual(new Map([['201', 100]]));
      expect(script.outcomes).toHaveLength(120);
      expect(script.outcomes.every((outcome) => outcome.status === 201)).toBe(true);
      expect(stub.received()).toBe(120);
    } finally {
      await stub.close();
    }
  });

  it('counts latency from the scheduled send: answers held back show up in full, not hidden', async () => {
    // No answer leaves the stub before its 40th request has arrived, so the first request
    // cannot complete before the 40th was due: 39 intervals after its own scheduled instant.
    const holdUntil = 40;
    const stub = await startStub(holdUntil);
    try {
      const script = recordingScript();
      const result = await runOpenLoop({
        port: stub.port,
        ratePerSecond: RATE_PER_SECOND,
        warmupMs: 0,
        durationMs: 300,
        connections: 100,
        requestTimeoutMs: 10_000,
        script,
      });
      const first = script.outcomes.find((outcome) => outcome.path === '/r/1')!;
      expect(first.status).toBe(201);
      expect(first.latencyMs).toBeGreaterThanOrEqual((holdUntil - 1) * INTERVAL_MS);
      // A closed loop would have waited; this one had all of them out at once.
      expect(result.inFlightMax).toBeGreaterThanOrEqual(holdUntil);
      expect(result.latencyUs.maxValue / 1_000).toBeGreaterThanOrEqual((holdUntil - 1) * INTERVAL_MS);
      expect(result.queuedInGenerator).toBe(0);
    } finally {
      await stub.close();
    }
  });

  it('counts the requests that had to wait for a connection when the pool is too small', async () => {
    // The stub never answers its first 5 requests, which hold all 5 connections until they time
    // out (long after the schedule ended): every later request finds no free connection.
    let received = 0;
    const server = http.createServer((request, response) => {
      request.resume();
      request.on('end', () => {
        received += 1;
        if (received > 5) response.writeHead(201, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const result = await runOpenLoop({
        port: (server.address() as AddressInfo).port,
        ratePerSecond: RATE_PER_SECOND,
        warmupMs: 0,
        durationMs: 200,
        connections: 5,
        requestTimeoutMs: 3_000,
        script: recordingScript(),
      });
      expect(result.measuredRequests).toBe(40);
      expect(result.queuedInGenerator).toBe(35);
      expect(result.statuses).toEqual(new Map([['timeout', 5], ['201', 35]]));
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
