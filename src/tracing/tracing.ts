import { Attributes, context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  ParentBasedSampler,
  Sampler,
  SamplingDecision,
  SpanExporter,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from '@opentelemetry/sdk-trace';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import { BullMQOtel } from 'bullmq-otel';
import type { Tracing } from './tracing.types';
import { parseDatabaseUrl } from '../db/database-url';

export interface TracingOptions {
  /** The collector's OTLP/HTTP base URL; spans go to `<endpoint>/v1/traces`. */
  endpoint: string;
  serviceName: string;
  /** Share of requests and jobs whose traces are recorded (0 to 1). */
  sampleRatio: number;
  /** `APP_ROLE`, recorded on every span's resource. */
  role: string;
  /** For the attributes of database spans. */
  databaseUrl: string;
  /** Replaces the OTLP exporter (tests). */
  exporter?: SpanExporter;
}

/** Probes and scrapes every few seconds would be most of the traces and say nothing. */
const UNTRACED_PATHS = /^\/(health|metrics)(\/|\?|$)/;

/**
 * A trace starts only at a request or a job, and only `ratio` of them are recorded (by trace
 * id). BullMQ also opens spans of its own for a worker's polling and stalled-job checks
 * (`getNextJob`, `moveStalledJobsToWait`): internal, without a parent, one every few seconds per
 * worker. They are dropped here, and what runs under them (their Redis commands) is dropped with
 * them; a job's consumer span has its producer as parent and follows its decision.
 */
function rootSampler(ratio: number): Sampler {
  const byTraceId = new TraceIdRatioBasedSampler(ratio);
  return {
    shouldSample: (context, traceId, _name, kind) =>
      kind === SpanKind.INTERNAL
        ? { decision: SamplingDecision.NOT_RECORD }
        : byTraceId.shouldSample(context, traceId),
    toString: () => `RequestsAndJobsOnly{${byTraceId.toString()}}`,
  };
}

/**
 * Starts the OpenTelemetry SDK: HTTP server spans, ioredis commands, BullMQ producer and
 * consumer spans, and spans around repository calls (postgres.js has no instrumentation of its
 * own). Must run before fastify, ioredis and bullmq are first required, so that the
 * instrumentations can patch them: `main.ts` loads the application only afterwards.
 */
export function startTracing(options: TracingOptions): Tracing {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: options.serviceName,
      'service.instance.role': options.role,
      'process.pid': process.pid,
    }),
    sampler: new ParentBasedSampler({ root: rootSampler(options.sampleRatio) }),
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: options.exporter ?? new OTLPTraceExporter({ url: `${options.endpoint}/v1/traces` }),
      }),
    ],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (request) => UNTRACED_PATHS.test(request.url ?? ''),
        // The service makes no outgoing HTTP calls but the exporter's own.
        disableOutgoingRequestInstrumentation: true,
      }),
      new IORedisInstrumentation({ requireParentSpan: true }),
    ],
  });

  const tracer = provider.getTracer('wallet-service');
  // A multi-host URL (ADR 0050) names the first host; the driver may be on another one.
  const database = parseDatabaseUrl(options.databaseUrl);
  const databaseAttributes: Attributes = {
    'db.system.name': 'postgresql',
    'db.namespace': database.database,
    'server.address': database.hosts[0]!.host,
    'server.port': database.hosts[0]!.port,
  };

  return {
    bullmqTelemetry: new BullMQOtel({ tracerName: 'bullmq' }),

    logFields(): Record<string, string> {
      const span = trace.getSpan(context.active());
      if (!span) return {};
      const { traceId, spanId } = span.spanContext();
      return { trace_id: traceId, span_id: spanId };
    },

    nameHttpSpan(method, route) {
      const span = trace.getSpan(context.active());
      if (!span) return;
      span.updateName(`${method} ${route}`);
      span.setAttribute('http.route', route);
    },

    traceRepository(instance) {
      const repository = instance.constructor.name;
      for (const name of asyncMethodNames(instance)) {
        const method = (instance as Record<string, (...args: unknown[]) => Promise<unknown>>)[name]!;
        const spanName = `${repository}.${name}`;
        const attributes: Attributes = { ...databaseAttributes, 'db.operation.name': name, 'code.namespace': repository };
        Object.defineProperty(instance, name, {
          configurable: true,
          writable: true,
          value: function traced(this: unknown, ...args: unknown[]): Promise<unknown> {
            // Calls outside any request or job (start-up, probes) are not traced.
            if (!trace.getSpan(context.active())) return method.apply(this, args);
            return tracer.startActiveSpan(spanName, { kind: SpanKind.CLIENT, attributes }, async (span) => {
              try {
                return await method.apply(this, args);
              } catch (error) {
                span.recordException(error as Error);
                span.setStatus({ code: SpanStatusCode.ERROR });
                throw error;
              } finally {
                span.end();
              }
            });
          },
        });
      }
    },

    async shutdown() {
      await provider.shutdown();
    },
  };
}

/** The async methods along a repository's prototype chain, its own class first. */
function asyncMethodNames(instance: object): string[] {
  const names = new Set<string>();
  for (let proto = Object.getPrototypeOf(instance); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      const value = Object.getOwnPropertyDescriptor(proto, name)?.value;
      if (name !== 'constructor' && typeof value === 'function' && value.constructor.name === 'AsyncFunction') names.add(name);
    }
  }
  return [...names];
}
