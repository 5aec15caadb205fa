import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { Queue } from 'bullmq';
import { MetricsService } from './metrics.service';

/**
 * Finds every BullMQ queue that any module registered and hands them to the depth gauge, so a
 * new queue is measured without touching this module.
 */
@Injectable()
export class QueueDepthWatcher implements OnApplicationBootstrap {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly metrics: MetricsService,
  ) {}

  onApplicationBootstrap(): void {
    const queues = new Map<string, Queue>();
    for (const wrapper of this.discovery.getProviders()) {
      const instance: unknown = wrapper.instance;
      if (instance instanceof Queue) queues.set(instance.name, instance);
    }
    this.metrics.watchQueues([...queues.values()]);
  }
}
