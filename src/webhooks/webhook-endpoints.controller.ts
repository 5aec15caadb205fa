import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentCaller } from '../common/auth/auth.decorators';
import { Caller } from '../common/auth/caller';
import { ApiProblems, ApiUuidParam } from '../common/http/api-docs';
import { UuidParamPipe } from '../common/http/uuid-param.pipe';
import { DeliveryQueryDto, RedeliverDto, RedeliveryDto, WebhookDeliveryPageDto } from './dto/webhook-delivery.dto';
import {
  CreateWebhookEndpointDto,
  UpdateWebhookEndpointDto,
  WebhookEndpointDto,
  WebhookEndpointListDto,
  WebhookEndpointWithSecretDto,
} from './dto/webhook-endpoint.dto';
import { WebhooksService } from './webhooks.service';

@ApiTags('webhooks')
@ApiProblems(401, 429)
@Controller('webhook-endpoints')
export class WebhookEndpointsController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post()
  @ApiOperation({
    summary: 'Register a webhook endpoint (admin); the signing secret is in this response only',
    description:
      'Deliveries are signed per the Standard Webhooks specification (`webhook-id`, `webhook-timestamp`, ' +
      '`webhook-signature`). The URL is refused (400 naming `url`) when it is not https in production or resolves ' +
      'to a loopback, private, link-local or reserved address.',
  })
  @ApiCreatedResponse({ type: WebhookEndpointWithSecretDto })
  @ApiProblems('VALIDATION_FAILED', 'WEBHOOK_URL_REFUSED', 403)
  create(@CurrentCaller() caller: Caller, @Body() body: CreateWebhookEndpointDto): Promise<WebhookEndpointWithSecretDto> {
    return this.webhooks.create(caller, body);
  }

  @Get()
  @ApiOperation({ summary: 'The webhook endpoints, oldest first, at most 100 (admin); secrets are never shown again' })
  @ApiOkResponse({ type: WebhookEndpointListDto })
  @ApiProblems(403)
  list(@CurrentCaller() caller: Caller): Promise<WebhookEndpointListDto> {
    return this.webhooks.list(caller);
  }

  @Get(':endpointId')
  @ApiOperation({ summary: 'One webhook endpoint (admin)' })
  @ApiOkResponse({ type: WebhookEndpointDto })
  @ApiProblems(400, 'WEBHOOK_ENDPOINT_NOT_FOUND')
  @ApiUuidParam('endpointId', 'The webhook endpoint id')
  get(@CurrentCaller() caller: Caller, @Param('endpointId', new UuidParamPipe('endpointId')) id: string): Promise<WebhookEndpointDto> {
    return this.webhooks.get(caller, id);
  }

  @Patch(':endpointId')
  @ApiOperation({
    summary: 'Change the URL, event types, description, or pause and resume (admin)',
    description: '`enabled: true` also clears an automatic disable and its failure record.',
  })
  @ApiOkResponse({ type: WebhookEndpointDto })
  @ApiProblems('VALIDATION_FAILED', 'WEBHOOK_URL_REFUSED', 'WEBHOOK_ENDPOINT_NOT_FOUND')
  @ApiUuidParam('endpointId', 'The webhook endpoint id')
  update(
    @CurrentCaller() caller: Caller,
    @Param('endpointId', new UuidParamPipe('endpointId')) id: string,
    @Body() body: UpdateWebhookEndpointDto,
  ): Promise<WebhookEndpointDto> {
    return this.webhooks.update(caller, id, body);
  }

  @Delete(':endpointId')
  @HttpCode(204)
  @ApiOperation({ summary: 'Delete a webhook endpoint and its delivery history (admin)' })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiProblems(400, 'WEBHOOK_ENDPOINT_NOT_FOUND')
  @ApiUuidParam('endpointId', 'The webhook endpoint id')
  async remove(@CurrentCaller() caller: Caller, @Param('endpointId', new UuidParamPipe('endpointId')) id: string): Promise<void> {
    await this.webhooks.remove(caller, id);
  }

  @Post(':endpointId/rotate-secret')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Replace the signing secret (admin); the new one is in this response only',
    description: 'For 24 hours the previous secret keeps signing too: `webhook-signature` carries both signatures.',
  })
  @ApiOkResponse({ type: WebhookEndpointWithSecretDto })
  @ApiProblems(400, 'WEBHOOK_ENDPOINT_NOT_FOUND')
  @ApiUuidParam('endpointId', 'The webhook endpoint id')
  rotate(
    @CurrentCaller() caller: Caller,
    @Param('endpointId', new UuidParamPipe('endpointId')) id: string,
  ): Promise<WebhookEndpointWithSecretDto> {
    return this.webhooks.rotateSecret(caller, id);
  }

  @Get(':endpointId/deliveries')
  @ApiOperation({ summary: "The endpoint's deliveries, newest first: attempts, status codes, latency, next attempt (admin)" })
  @ApiOkResponse({ type: WebhookDeliveryPageDto })
  @ApiProblems(400, 'WEBHOOK_ENDPOINT_NOT_FOUND')
  @ApiUuidParam('endpointId', 'The webhook endpoint id')
  deliveries(
    @CurrentCaller() caller: Caller,
    @Param('endpointId', new UuidParamPipe('endpointId')) id: string,
    @Query() query: DeliveryQueryDto,
  ): Promise<WebhookDeliveryPageDto> {
    return this.webhooks.deliveries(caller, id, query);
  }
}

@ApiTags('webhooks')
@ApiProblems(401, 429)
@Controller('events')
export class EventRedeliveryController {
  constructor(private readonly webhooks: WebhooksService) {}

  @Post(':eventId/redeliver')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Deliver an event again (admin), with the same webhook-id',
    description: 'To every enabled endpoint subscribed to its type, or to the one endpoint named in the body.',
  })
  @ApiAcceptedResponse({ type: RedeliveryDto })
  @ApiProblems('VALIDATION_FAILED', 'EVENT_NOT_FOUND', 'WEBHOOK_ENDPOINT_NOT_FOUND')
  @ApiUuidParam('eventId', 'The event id')
  redeliver(
    @CurrentCaller() caller: Caller,
    @Param('eventId', new UuidParamPipe('eventId')) eventId: string,
    @Body() body: RedeliverDto,
  ): Promise<RedeliveryDto> {
    return this.webhooks.redeliver(caller, eventId, body?.endpointId);
  }
}
