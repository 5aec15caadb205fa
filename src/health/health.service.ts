import { Injectable, ServiceUnavailableException } from '@nestjs/common';
import { HealthCheckService, HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { DependencyUnavailableError } from '../common/errors/domain-errors';
import { RedisConnectionFactory } from '../redis/redis-connection.factory';
import { HealthRepository } from './health.repository';
import { withTimeout } from '../common/async/with-timeout';

/** Readiness waits this long for each dependency before calling it down. */
const CHECK_TIMEOUT_MS = 1_000;

export interface ReadinessReport {
  status: 'ok';
  checks: Record<string, 'up'>;
}

@Injectable()
export class HealthService {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicator: HealthIndicatorService,
    private readonly repository: HealthRepository,
    private readonly redis: RedisConnectionFactory,
  ) {}

  async readiness(): Promise<ReadinessReport> {
    try {
      const result = await this.health.check([
        () => this.probe('postgres', () => this.repository.ping()),
        // Connected is not enough: during a Sentinel failover a connection may still sit on the
        // demoted master, which answers PING but refuses writes (ADR 0055).
        () => this.probe('redis', () => this.redisWritable()),
      ]);
      return { status: 'ok', checks: Object.fromEntries(Object.keys(result.details).map((name) => [name, 'up'])) };
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      const details = (error.getResponse() as { details?: Record<string, { status: string }> }).details ?? {};
      const checks = Object.fromEntries(Object.entries(details).map(([name, { status }]) => [name, status]));
      const failed = Object.keys(checks).filter((name) => checks[name] !== 'up');
      throw new DependencyUnavailableError(`Not ready: ${failed.join(', ')} unavailable`, { checks });
    }
  }

  private async redisWritable(): Promise<void> {
    const [cache, queue] = await Promise.all([this.redis.writable('cache'), this.redis.writable('queue')]);
    if (!cache || !queue) throw new Error('redis is not connected to a master');
  }

  private async probe(name: string, check: () => Promise<void>): Promise<HealthIndicatorResult> {
    const indicator = this.indicator.check(name);
    try {
      await withTimeout(check(), CHECK_TIMEOUT_MS);
      return indicator.up();
    } catch {
      return indicator.down();
    }
  }
}
