import { BullModule } from '@nestjs/bullmq';
import { Global, Logger, Module } from '@nestjs/common';
import { RedisConnectionFactory } from '../redis/redis-connection.factory';
import { RedisModule } from '../redis/redis.module';
import { Tracing, TRACING } from '../tracing/tracing.types';

/**
 * BullMQ on the shared Redis connection factory, under the configured key prefix. Feature
 * modules register their own queues; workers (processors) are added only in the `worker`
 * and `all` roles (see `runsWorkers`).
 */
@Global()
@Module({
  imports: [
    BullModule.forRootAsync({
      imports: [RedisModule],
      inject: [RedisConnectionFactory, TRACING],
      useFactory: (redis: RedisConnectionFactory, tracing: Tracing | null) => ({
        connection: redis.create('queue'),
        prefix: redis.queuePrefix,
        // With tracing on, a job carries its producer's trace context (ADR 0011).
        ...(tracing ? { telemetry: tracing.bullmqTelemetry } : {}),
      }),
    }),
  ],
  exports: [BullModule],
})
export class QueueModule {}

export function runsWorkers(role: 'api' | 'worker' | 'all'): boolean {
  return role !== 'api';
}

/**
 * Gives a queue an `error` listener. BullMQ re-emits every Redis error of a queue (and of its job
 * scheduler) on the queue, and prints it to stderr when nobody listens; the connection factory
 * already logs each outage once, so these only go to debug.
 */
export function listenToQueueErrors(
  queue: { name: string; on(event: 'error', listener: (error: Error) => void): unknown },
  logger: Logger,
): void {
  queue.on('error', (error: Error) => logger.debug({ queue: queue.name, err: error.message }, 'queue error'));
}
