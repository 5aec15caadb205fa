import * as net from 'node:net';

/**
 * A closed-loop load generator: each client owns one keep-alive connection and sends its next
 * request as soon as the previous response arrived. Requests are written as raw HTTP/1.1 and
 * responses parsed just enough (status, a few headers, Content-Length body), which keeps the
 * generator's own CPU cost far below node:http's on a machine it shares with the service.
 *
 * Stopping is graceful: at the deadline no client starts a new request, and the run waits for
 * the ones in flight, so every request sent has a known outcome (or is reported as unanswered).
 */

export interface BenchRequest {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface BenchResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Produces a client's next request and learns its outcome; one per client (state is per client). */
export interface ClientScript {
  next(): BenchRequest;
  /** `response` is undefined when the request timed out or the connection failed. */
  done(request: BenchRequest, response: BenchResponse | undefined, latencyMs: number, measured: boolean): void;
}

export interface LoadOptions {
  port: number;
  clients: number;
  warmupMs: number;
  durationMs: number;
  requestTimeoutMs: number;
  script(clientIndex: number): ClientScript;
}

export interface LoadResult {
  /** Wall-clock length of the measured phase (requests started after the warm-up). */
  measuredMs: number;
  latenciesMs: Float64Array;
  statuses: Map<string, number>;
  /** Requests of the measured phase that got a response or failed. */
  measuredRequests: number;
  /** All requests of the run, warm-up included. */
  totalRequests: number;
  failures: number;
}

const HEADER_END = Buffer.from('\r\n\r\n');
const WANTED_HEADERS = new Set(['content-length', 'idempotent-replayed', 'location', 'transfer-encoding', 'connection']);

class Connection {
  private socket: net.Socket | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private pending:
    | { resolve: (response: BenchResponse) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }
    | undefined;

  constructor(
    private readonly port: number,
    private readonly timeoutMs: number,
  ) {}

  async send(request: BenchRequest): Promise<BenchResponse> {
    const socket = await this.connected();
    const body = request.body ?? '';
    let head = `${request.method} ${request.path} HTTP/1.1\r\nHost: 127.0.0.1:${this.port}\r\nConnection: keep-alive\r\n`;
    for (const [name, value] of Object.entries(request.headers)) head += `${name}: ${value}\r\n`;
    if (request.body !== undefined) {
      head += `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
    }
    return new Promise<BenchResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        this.close();
        reject(new Error('timeout'));
      }, this.timeoutMs);
      this.pending = { resolve, reject, timer };
      socket.write(`${head}\r\n${body}`);
    });
  }

  close(): void {
    this.socket?.destroy();
    this.socket = undefined;
    this.buffer = Buffer.alloc(0);
  }

  private connected(): Promise<net.Socket> {
    if (this.socket) return Promise.resolve(this.socket);
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port: this.port, host: '127.0.0.1', noDelay: true });
      socket.once('connect', () => {
        socket.off('error', reject);
        socket.on('error', (error) => this.fail(error));
        socket.on('close', () => {
          if (this.socket === socket) this.socket = undefined;
          this.fail(new Error('connection closed'));
        });
        socket.on('data', (chunk) => this.onData(chunk));
        this.socket = socket;
        resolve(socket);
      });
      socket.once('error', reject);
    });
  }

  private fail(error: Error): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = undefined;
    clearTimeout(pending.timer);
    this.close();
    pending.reject(error);
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const headerEnd = this.buffer.indexOf(HEADER_END);
    if (headerEnd < 0) return;
    const lines = this.buffer.toString('latin1', 0, headerEnd).split('\r\n');
    const status = Number(lines[0]!.split(' ')[1]);
    const headers: Record<string, string> = {};
    for (let i = 1; i < lines.length; i++) {
      const colon = lines[i]!.indexOf(':');
      const name = lines[i]!.slice(0, colon).toLowerCase();
      if (WANTED_HEADERS.has(name)) headers[name] = lines[i]!.slice(colon + 1).trim();
    }
    if (headers['transfer-encoding'] !== undefined) {
      this.fail(new Error(`unsupported Transfer-Encoding: ${headers['transfer-encoding']}`));
      return;
    }
    const length = Number(headers['content-length'] ?? '0');
    const bodyStart = headerEnd + HEADER_END.length;
    if (this.buffer.length < bodyStart + length) return;
    const body = this.buffer.toString('utf8', bodyStart, bodyStart + length);
    this.buffer = this.buffer.subarray(bodyStart + length);
    const pending = this.pending;
    this.pending = undefined;
    if (headers.connection === 'close') this.close();
    if (pending) {
      clearTimeout(pending.timer);
      pending.resolve({ status, headers, body });
    }
  }
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const start = performance.now();
  const measureFrom = start + options.warmupMs;
  const stopAt = measureFrom + options.durationMs;
  const latencies: number[] = [];
  const statuses = new Map<string, number>();
  let totalRequests = 0;
  let failures = 0;
  let lastMeasuredEnd = measureFrom;

  const client = async (index: number) => {
    const script = options.script(index);
    const connection = new Connection(options.port, options.requestTimeoutMs);
    try {
      while (performance.now() < stopAt) {
        const request = script.next();
        const sentAt = performance.now();
        const measured = sentAt >= measureFrom;
        let response: BenchResponse | undefined;
        let label: string;
        try {
          response = await connection.send(request);
          label = String(response.status);
        } catch (error) {
          failures += 1;
          label = (error as Error).message === 'timeout' ? 'timeout' : 'error';
        }
        const endedAt = performance.now();
        totalRequests += 1;
        script.done(request, response, endedAt - sentAt, measured);
        if (measured) {
          latencies.push(endedAt - sentAt);
          statuses.set(label, (statuses.get(label) ?? 0) + 1);
          if (endedAt > lastMeasuredEnd) lastMeasuredEnd = endedAt;
        }
        // A refused or reset connection must not turn into a busy loop of failures.
        if (response === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      connection.close();
    }
  };

  await Promise.all(Array.from({ length: options.clients }, (_, index) => client(index)));
  return {
    measuredMs: Math.max(lastMeasuredEnd, stopAt) - measureFrom,
    latenciesMs: Float64Array.from(latencies),
    statuses,
    measuredRequests: latencies.length,
    totalRequests,
    failures,
  };
}

/** One request outside a timed run (setup, report polling); a fresh connection each time is fine there. */
export async function request(port: number, req: BenchRequest, timeoutMs = 30_000): Promise<BenchResponse> {
  const connection = new Connection(port, timeoutMs);
  try {
    return await connection.send(req);
  } finally {
    connection.close();
  }
}
