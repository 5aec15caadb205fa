import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import type { AppRole } from '../config/app-config';
import { runsWorkers } from '../queue/queue.module';
import { WebhookDeliveryProcessor } from './webhook-delivery.processor';
import { WebhookDeliveryService } from './webhook-delivery.service';
import { WebhookDispatcher } from './webhook-dispatcher';
import { EventRedeliveryController, WebhookEndpointsController } from './webhook-endpoints.controller';
import { WebhookMetrics } from './webhook-metrics';
import { WEBHOOKS_QUEUE } from './webhooks.queue';
import { WebhooksRepository } from './webhooks.repository';
import { WebhooksService } from './webhooks.service';

/**
 * Webhook endpoints (admin API) and delivery (ADR 0031, 0032). Dispatch from the event feed and
 * the delivery worker run only in the worker roles.
 */
@Module({})
export class WebhooksModule {
  static register(role: AppRole): DynamicModule {
    return {
      module: WebhooksModule,
      imports: [BullModule.registerQueue({ name: WEBHOOKS_QUEUE })],
      controllers: [WebhookEndpointsController, EventRedeliveryController],
      providers: [
        WebhooksService,
        WebhooksRepository,
        WebhookMetrics,
        ...(runsWorkers(role) ? [WebhookDeliveryService, WebhookDeliveryProcessor, WebhookDispatcher] : []),
      ],
    };
  }
}
