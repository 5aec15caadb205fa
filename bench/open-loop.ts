import * as hdr from 'hdr-histogram-js';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Pool } from 'undici';
import type { BenchRequest, BenchResponse, ClientScript } from './load';

/**
 * An open-loop load generator (the method of wrk2 and of k6's constant-arrival-rate executor):
 * request i is due at start + i / rate whatever the answers to the earlier ones, and its latency
 * counts from that scheduled instant, not from when it actually left. A service that stalls for
 * 100 ms therefore shows 100 ms on every request that fell due during the stall, which a closed
 * loop hides because its clients stop sending while they wait (coordinated omission).
 *
 * The generator must not be the bottleneck, so the run reports what would make its figures
 * untrustworthy: how late it sent requests (its own scheduling lateness), the cores it used, and
 * how many requests had to wait for a free connection. The connection pool is sized so that the
 * last is zero: a queued request would be sent late and, again, hide the service's stall.
 */

export interface OpenLoopOptions {
  port: number;
  /** Offered arrival rate, requests per second, evenly spaced. */
  ratePerSecond: number;
  warmupMs: number;
  durationMs: number;
  /** Keep-alive connections at most; each carries one request at a time (no pipelining). */
  connections: number;
  requestTimeoutMs: number;
  /** One script for all requests (scripts keep per-request state keyed by the request). */
  script: ClientScript;
}

export interface OpenLoopResult {
  ratePerSecond: number;
  /** Length of the measured phase: requests scheduled in it, until the last of them answered. */
  measuredMs: number;
  /** Requests scheduled in the measured phase (all of them got an outcome). */
  measuredRequests: number;
  /** Microseconds from each measured request's scheduled send to its complete answer. */
  latencyUs: hdr.Histogram;
  /** Microseconds each measured request left after its scheduled instant (the generator's own delay). */
  latenessUs: hdr.Histogram;
  statuses: Map<string, number>;
  /** Requests that found every connection busy and waited in the generator for one. */
  queuedInGenerator: number;
  /** Requests in flight at once, at most (the connections the run needed). */
  inFlightMax: number;
  /** Connections the pool opened, and those closed before the run's end (by the server or an error), warm-up included. */
  connectionsOpened: number;
  connectionsClosed: number;
  /** The generator's own event-loop delay p99 and max over the measured phase, ms. */
  generatorLoopDelayP99Ms: number;
  generatorLoopDelayMaxMs: number;
  /** Cores used by the generator process over the measured phase. */
  generatorCpu: number;
}

/** Microsecond histograms from 1 µs to 120 s at 3 significant digits (0.1% resolution). */
export function latencyHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
}

/** The scheduler wakes at least this often; Node's timers have millisecond resolution anyway. */
const TICK_MS = 1;

export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const intervalMs = 1_000 / options.ratePerSecond;
  const pool = new Pool(`http://127.0.0.1:${options.port}`, {
    connections: options.connections,
    pipelining: 1,
    headersTimeout: options.requestTimeoutMs,
    bodyTimeout: options.requestTimeoutMs,
    keepAliveTimeout: 60_000,
  });
  let connectionsOpened = 0;
  let connectionsClosed = 0;
  pool.on('connect', () => (connectionsOpened += 1));
  pool.on('disconnect', () => (connectionsClosed += 1));
  const latencyUs = latencyHistogram();
  const latenessUs = latencyHistogram();
  const statuses = new Map<string, number>();
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  let inFlight = 0;
  let inFlightMax = 0;
  let queuedInGenerator = 0;
  let measuredRequests = 0;
  let lastMeasuredEnd = 0;
  let cpuAtMeasureStart: NodeJS.CpuUsage | undefined;
  const pending = new Set<Promise<void>>();

  const start = performance.now();
  const measureFrom = start + options.warmupMs;
  const stopAt = measureFrom + options.durationMs;

  const send = (scheduledAt: number, measured: boolean) => {
    const request = options.script.next();
    const sentAt = performance.now();
    if (inFlight >= options.connections) queuedInGenerator += measured ? 1 : 0;
    inFlight += 1;
    if (inFlight > inFlightMax) inFlightMax = inFlight;
    if (measured) latenessUs.recordValue(Math.max(1, Math.round((sentAt - scheduledAt) * 1_000)));
    const done = exchange(pool, request).then(({ response, label }) => {
      const endedAt = performance.now();
      inFlight -= 1;
      options.script.done(request, response, endedAt - scheduledAt, measured);
      if (!measured) return;
      measuredRequests += 1;
      latencyUs.recordValue(Math.max(1, Math.round((endedAt - scheduledAt) * 1_000)));
      statuses.set(label, (statuses.get(label) ?? 0) + 1);
      if (endedAt > lastMeasuredEnd) lastMeasuredEnd = endedAt;
    });
    pending.add(done);
    void done.finally(() => pending.delete(done));
  };

  await new Promise<void>((resolve) => {
    let index = 0;
    const tick = () => {
      const now = performance.now();
      if (cpuAtMeasureStart === undefined && now >= measureFrom) {
        cpuAtMeasureStart = process.cpuUsage();
        loopDelay.enable();
      }
      // Everything due by now goes out now: a late tick sends a burst, as real arrivals would.
      for (let due = start + index * intervalMs; due <= now && due < stopAt; due = start + ++index * intervalMs) {
        send(due, due >= measureFrom);
      }
      const next = start + index * intervalMs;
      if (next >= stopAt) {
        resolve();
        return;
      }
      setTimeout(tick, Math.max(0, Math.min(TICK_MS, next - performance.now())));
    };
    tick();
  });
  loopDelay.disable();
  const cpu = process.cpuUsage(cpuAtMeasureStart);
  const sendingMs = performance.now() - measureFrom;
  while (pending.size > 0) await Promise.all([...pending]);
  const closedByServer = connectionsClosed;
  await pool.close();

  return {
    ratePerSecond: options.ratePerSecond,
    measuredMs: Math.max(lastMeasuredEnd, stopAt) - measureFrom,
    measuredRequests,
    latencyUs,
    latenessUs,
    statuses,
    queuedInGenerator,
    inFlightMax,
    connectionsOpened,
    connectionsClosed: closedByServer,
    generatorLoopDelayP99Ms: loopDelay.count > 0 ? loopDelay.percentile(99) / 1e6 : 0,
    generatorLoopDelayMaxMs: loopDelay.count > 0 ? loopDelay.max / 1e6 : 0,
    // Only the sending phase: afterwards the generator waits for the last answers and idles.
    generatorCpu: (cpu.user + cpu.system) / 1e6 / (sendingMs / 1_000),
  };
}

/**
 * One request on the pool; the pool's header and body timeouts bound it. Through `dispatch` with
 * a handler rather than `request`: no body stream and no promise per chunk, which halves the
 * generator's CPU per request on a machine it shares with the service.
 */
function exchange(pool: Pool, request: BenchRequest): Promise<{ response: BenchResponse | undefined; label: string }> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = { ...request.headers };
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    let status = 0;
    let responseHeaders: Record<string, string> = {};
    const chunks: Buffer[] = [];
    pool.dispatch(
      { method: request.method, path: request.path, headers, body: request.body },
      {
        onRequestStart() {
          // Nothing to set up: the request carries no abort signal.
        },
        onResponseStart(_controller, statusCode, received) {
          status = statusCode;
          responseHeaders = {};
          for (const [name, value] of Object.entries(received)) {
            if (value !== undefined) responseHeaders[name] = Array.isArray(value) ? value.join(', ') : value;
          }
        },
        onResponseData(_controller, chunk) {
          chunks.push(chunk);
        },
        onResponseEnd() {
          const body = chunks.length === 1 ? chunks[0]!.toString('utf8') : Buffer.concat(chunks).toString('utf8');
          resolve({ response: { status, headers: responseHeaders, body }, label: String(status) });
        },
        onResponseError(_controller, error) {
          const name = error.name;
          resolve({ response: undefined, label: name === 'HeadersTimeoutError' || name === 'BodyTimeoutError' ? 'timeout' : 'error' });
        },
      },
    );
  });
}
