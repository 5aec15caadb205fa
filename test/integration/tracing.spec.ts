import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createServer, IncomingMessage, Server } from 'node:http';
import * as path from 'node:path';
import { createTestDatabase, randomPrefix, TestDatabase } from '../setup/test-database';
import { TEST_REDIS_URL } from '../setup/test-env';
import { deleteKeysAt } from '../setup/redis-keys';
import { freePort } from '../setup/net';

/**
 * Tracing as operators turn it on (ADR 0011): the real service in its own process, started
 * from src/main.ts with OTEL_EXPORTER_OTLP_ENDPOINT pointing at a small OTLP/HTTP receiver on
 * loopback. The SDK has to patch http and ioredis before the application loads them, which an
 * in-process test app (loaded by Jest's module system) cannot show.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const PLATFORM_USER_ID = '00000000-0000-4000-8000-00000000beef';
const WAIT_MS = 45_000;

/** The fields of an OTLP span that the assertions read (OTLP/JSON: ids are hex strings). */
interface ReceivedSpan {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  scope: string;
}
const SPAN_KIND = { server: 2, client: 3, producer: 4, consumer: 5 } as const;

/** Collects every span posted to `/v1/traces` as OTLP/JSON (what exporter-trace-otlp-http sends). */
class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  readonly contentTypes = new Set<string>();
  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
  ) {}

  static async start(): Promise<OtlpReceiver> {
    const port = await freePort();
    const server = createServer();
    const receiver = new OtlpReceiver(server, `http://127.0.0.1:${port}`);
    server.on('request', (request, response) => void receiver.accept(request).then(() => response.end('{}')));
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return receiver;
  }

  private async accept(request: IncomingMessage): Promise<void> {
    let body = '';
    for await (const chunk of request) body += String(chunk);
    this.contentTypes.add(`${request.method} ${request.url} ${request.headers['content-type']}`);
    const payload = JSON.parse(body) as {
      resourceSpans?: { scopeSpans?: { scope?: { name?: string }; spans?: Omit<ReceivedSpan, 'scope'>[] }[] }[];
    };
    for (const resource of payload.resourceSpans ?? []) {
      for (const scope of resource.scopeSpans ?? []) {
        for (const span of scope.spans ?? []) this.spans.push({ ...span, scope: scope.scope?.name ?? '' });
      }
    }
  }

  async close(): Promise<void> {
    await new Promise((resolve) => this.server.close(resolve));
  }
}

interface Service {
  child: ChildProcess;
  baseUrl: string;
  stdout(): string;
  exited: Promise<number | null>;
}

function spawnService(env: Record<string, string>, port: number): Service {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, baseUrl: `http://127.0.0.1:${port}`, stdout: () => out, exited };
}

async function waitFor(condition: () => Promise<boolean>, describe: () => string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!(await condition().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('tracing', () => {
  it('loads no part of the OpenTelemetry SDK when OTEL_EXPORTER_OTLP_ENDPOINT is unset', () => {
    // Everything the application imports, as main.ts loads it when tracing is off. prom-client
    // requires @opentelemetry/api (a no-op facade) for exemplars; the SDK, its instrumentations
    // and bullmq-otel stay out.
    const loaded = execFileSync(
      process.execPath,
      [
        '-r',
        '@swc-node/register',
        '-e',
        "require('./src/app.factory'); console.log(JSON.stringify(Object.keys(require.cache)))",
      ],
      { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' } },
    );
    const modules = JSON.parse(loaded) as string[];
    expect(modules.some((file) => file.includes(`${path.sep}src${path.sep}app.module`))).toBe(true);
    expect(modules.filter((file) => /@opentelemetry[\\/](?!api[\\/])|bullmq-otel|pino-pretty/.test(file))).toEqual([]);
  });

  describe('with OTEL_EXPORTER_OTLP_ENDPOINT set', () => {
    let db: TestDatabase;
    let keyPrefix: string;
    let receiver: OtlpReceiver;
    let service: Service | undefined;

    beforeAll(async () => {
      db = await createTestDatabase();
      keyPrefix = randomPrefix();
      receiver = await OtlpReceiver.start();
    });
    afterAll(async () => {
      if (service && service.child.exitCode === null) {
        service.child.kill('SIGKILL');
        await service.exited;
      }
      await receiver.close();
      await db.drop();
      await deleteKeysAt(TEST_REDIS_URL, keyPrefix);
    });

    it('traces a report request from the API through the worker: HTTP, database, Redis and job spans share one trace', async () => {
      const port = await freePort();
      service = spawnService(
        {
          NODE_ENV: 'test',
          PORT: String(port),
          HOST: '127.0.0.1',
          DATABASE_URL: db.url,
          REDIS_URL: TEST_REDIS_URL,
          REDIS_KEY_PREFIX: keyPrefix,
          PLATFORM_ACCOUNT_ID: PLATFORM_USER_ID,
          LOG_LEVEL: 'info',
          LOG_FORMAT: 'json',
          OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
          OTEL_SERVICE_NAME: 'wallet-tracing-test',
        },
        port,
      );
      const running = service;
      await waitFor(
        async () => (await fetch(`${running.baseUrl}/health/ready`)).status === 200,
        () => `service not ready: ${running.stdout().slice(-2_000)}`,
      );

      const requested = await fetch(`${running.baseUrl}/reports/financial`, {
        method: 'POST',
        headers: { 'x-user-id': PLATFORM_USER_ID, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(requested.status).toBe(202);
      const { jobId } = (await requested.json()) as { jobId: string };
      await waitFor(
        async () => {
          const report = await fetch(`${running.baseUrl}/reports/financial/${jobId}`, { headers: { 'x-user-id': PLATFORM_USER_ID } });
          return ((await report.json()) as { status: string }).status === 'completed';
        },
        () => `report ${jobId} not completed`,
      );

      // SIGTERM: the shutdown exports what the batch processor still holds.
      running.child.kill('SIGTERM');
      expect(await running.exited).toBe(0);

      const http = receiver.spans.find((span) => span.name === 'POST /reports/financial' && span.kind === SPAN_KIND.server);
      expect(http).toBeDefined();
      const trace = receiver.spans.filter((span) => span.traceId === http!.traceId);
      const named = (name: string) => trace.find((span) => span.name === name);

      // The API's database call is a child of the HTTP span; so is the job's producer span.
      expect(named('ReportsRepository.insertReport')).toMatchObject({ kind: SPAN_KIND.client, parentSpanId: http!.spanId });
      const producer = trace.find((span) => span.kind === SPAN_KIND.producer && span.name.startsWith('add reports'));
      expect(producer).toMatchObject({ parentSpanId: http!.spanId, scope: 'bullmq' });
      // The worker's job span continues the same trace, and its own database calls hang below it.
      const consumer = trace.find((span) => span.kind === SPAN_KIND.consumer && span.name === 'process reports');
      expect(consumer).toMatchObject({ parentSpanId: producer!.spanId });
      for (const name of ['ReportsRepository.claimReport', 'ReportsRepository.readFinancialFigures', 'ReportsRepository.completeReport']) {
        expect(named(name)).toMatchObject({ kind: SPAN_KIND.client, parentSpanId: consumer!.spanId });
      }
      // Redis commands (ioredis) are in the trace too.
      expect(trace.some((span) => span.scope.includes('ioredis') && span.kind === SPAN_KIND.client)).toBe(true);

      // Probes are not traced, and neither is BullMQ's polling outside any job.
      expect(receiver.spans.some((span) => span.name.includes('/health'))).toBe(false);
      expect(receiver.spans.some((span) => span.name.startsWith('getNextJob'))).toBe(false);
      expect([...receiver.contentTypes]).toEqual(['POST /v1/traces application/json']);

      // The request's log line carries the trace and span ids of the HTTP span.
      const requestLine = running
        .stdout()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { msg?: string; req?: { url?: string }; trace_id?: string; span_id?: string })
        .find((line) => line.msg === 'request completed' && line.req?.url === '/reports/financial');
      expect(requestLine).toMatchObject({ trace_id: http!.traceId, span_id: http!.spanId });
    });
  });
});
