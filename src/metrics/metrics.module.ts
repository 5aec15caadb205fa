import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { MetricsController } from './metrics.controller';
import { MetricsService } from './metrics.service';
import { PoolUsageWatcher } from './pool-usage.watcher';
import { QueueDepthWatcher } from './queue-depth.watcher';

@Global()
@Module({
  imports: [DiscoveryModule],
  controllers: [MetricsController],
  providers: [MetricsService, QueueDepthWatcher, PoolUsageWatcher],
  exports: [MetricsService],
})
export class MetricsModule {}
