import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { RedisClient, RedisConnectionFactory } from './redis-connection.factory';

/** Injection token of the shared cache connection (keys carry the configured prefix). */
export const REDIS_CACHE = Symbol('REDIS_CACHE');

@Global()
@Module({
  providers: [
    {
      provide: RedisConnectionFactory,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => new RedisConnectionFactory(config.redis.url, config.redis.keyPrefix, config.redis.topology),
    },
    {
      provide: REDIS_CACHE,
      inject: [RedisConnectionFactory],
      useFactory: (factory: RedisConnectionFactory) => factory.create('cache'),
    },
  ],
  exports: [RedisConnectionFactory, REDIS_CACHE],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(RedisConnectionFactory) private readonly factory: RedisConnectionFactory) {}

  async onApplicationShutdown(): Promise<void> {
    await this.factory.closeAll();
  }
}

export type { RedisClient };
