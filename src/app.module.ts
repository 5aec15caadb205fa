import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './db/database.module';
import { RedisModule } from './redis/redis.module';
import { QueueModule } from './queue/queue.module';
import { MetricsModule } from './metrics/metrics.module';
import { AuthGuard } from './common/auth/auth.guard';
import { AuthModule } from './common/auth/auth.module';
import { QueueDashboardModule } from './queue-dashboard/queue-dashboard.module';
import { ProblemDetailsFilter } from './common/errors/problem-details.filter';
import { HealthModule } from './health/health.module';
import { RateLimitModule } from './rate-limit/rate-limit.module';
import { CallerThrottlerGuard } from './rate-limit/caller-throttler.guard';
import { WalletsModule } from './wallets/wallets.module';
import { PositionSnapshotsModule } from './wallets/position-snapshots.module';
import { PurchasesModule } from './purchases/purchases.module';
import { PayoutScheduleModule } from './payouts/payout-schedule.module';
import { PayoutsModule } from './payouts/payouts.module';
import { ReportsModule } from './reports/reports.module';
import { ReconciliationModule } from './reconciliation/reconciliation.module';
import { EventsModule } from './events/events.module';
import { WebhooksModule } from './webhooks/webhooks.module';
import { TracingModule } from './tracing/tracing.module';
import type { Tracing } from './tracing/tracing.types';

@Module({})
export class AppModule {
  /** `tracing`: the running tracer when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, else null. */
  static register(config: AppConfig, tracing: Tracing | null = null): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        TracingModule.forRoot(tracing),
        JwtModule.register({}),
        AuthModule,
        DatabaseModule,
        RedisModule,
        QueueModule,
        MetricsModule,
        HealthModule,
        RateLimitModule,
        WalletsModule,
        PositionSnapshotsModule.register(config.role),
        PurchasesModule,
        PayoutsModule,
        PayoutScheduleModule.register(config),
        ReportsModule.register(config.role),
        ReconciliationModule.register(config.role),
        EventsModule,
        WebhooksModule.register(config.role),
        QueueDashboardModule,
      ],
      providers: [
        { provide: APP_GUARD, useClass: AuthGuard },
        // After AuthGuard: limits count per authenticated caller.
        { provide: APP_GUARD, useExisting: CallerThrottlerGuard },
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
      ],
    };
  }
}
