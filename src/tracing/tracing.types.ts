import type { Telemetry } from 'bullmq';

/**
 * What the application needs from tracing when it is on (ADR 0011). This file imports nothing
 * from OpenTelemetry at run time: with tracing off, no module of the SDK is ever loaded.
 */
export interface Tracing {
  /** BullMQ's telemetry option: producer and consumer spans, the context carried in the job. */
  readonly bullmqTelemetry: Telemetry;
  /** `trace_id` and `span_id` of the active span, merged into every log line. */
  logFields(): Record<string, string>;
  /** Names the active HTTP server span after the route template (`POST /purchases`). */
  nameHttpSpan(method: string, route: string): void;
  /** Wraps each async method of a repository in a database CLIENT span. */
  traceRepository(instance: object): void;
  /** Exports what is buffered; called at shutdown after the application has closed. */
  shutdown(): Promise<void>;
}

/** Injection token; its value is `null` when tracing is off. */
export const TRACING = Symbol('TRACING');
