import { DynamicModule, Global, Inject, Injectable, Module, OnModuleInit } from '@nestjs/common';
import { DiscoveryModule, DiscoveryService } from '@nestjs/core';
import { Tracing, TRACING } from './tracing.types';

/** Puts every `*Repository` provider's async methods under database spans. */
@Injectable()
class RepositoryTracer implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    @Inject(TRACING) private readonly tracing: Tracing,
  ) {}

  onModuleInit(): void {
    for (const wrapper of this.discovery.getProviders()) {
      const instance: unknown = wrapper.instance;
      if (typeof instance === 'object' && instance !== null && instance.constructor.name.endsWith('Repository')) {
        this.tracing.traceRepository(instance);
      }
    }
  }
}

/**
 * Provides `TRACING`: the running tracer's hooks, or `null` when `OTEL_EXPORTER_OTLP_ENDPOINT`
 * is unset (then nothing here touches a request).
 */
@Global()
@Module({})
export class TracingModule {
  static forRoot(tracing: Tracing | null): DynamicModule {
    return {
      module: TracingModule,
      imports: tracing ? [DiscoveryModule] : [],
      providers: [{ provide: TRACING, useValue: tracing }, ...(tracing ? [RepositoryTracer] : [])],
      exports: [TRACING],
    };
  }
}
