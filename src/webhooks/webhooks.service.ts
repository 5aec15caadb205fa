import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import { listenToQueueErrors } from '../queue/queue.module';
import { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { Caller } from '../common/auth/caller';
import { ForbiddenError, RequestValidationError } from '../common/errors/domain-errors';
import { AppConfig } from '../config/app-config';
import type { EventType } from '../events/event-types';
import {
  DELIVERY_PAGE_LIMIT_DEFAULT,
  RedeliveryDto,
  toWebhookDeliveryDto,
  WebhookDeliveryPageDto,
} from './dto/webhook-delivery.dto';
import {
  toWebhookEndpointDto,
  WebhookEndpointDto,
  WebhookEndpointListDto,
  WebhookEndpointWithSecretDto,
} from './dto/webhook-endpoint.dto';
import { EventNotFoundError, WebhookEndpointNotFoundError, WebhookUrlRefusedError } from './webhook.errors';
import { DEVELOPMENT_SECRET_KEY, generateSecret, SecretBox } from './webhook-secret';
import { checkUrlShape, checkUrlTarget, UrlPolicy } from './webhook-url';
import { DELIVER_JOB, DELIVER_JOB_OPTIONS, DeliverJobData, deliverJobId, SECRET_ROTATION_GRACE_MS, WEBHOOK_ENDPOINTS_LISTED_MAX, WEBHOOKS_QUEUE } from './webhooks.queue';
import { WebhooksRepository } from './webhooks.repository';

/** Registration, inspection and redelivery of webhooks (admins only). */
@Injectable()
export class WebhooksService {
  private readonly logger = new Logger(WebhooksService.name);
  readonly secrets: SecretBox;
  readonly urlPolicy: UrlPolicy;

  constructor(
    private readonly repository: WebhooksRepository,
    private readonly config: AppConfig,
    @InjectQueue(WEBHOOKS_QUEUE) private readonly queue: Queue<DeliverJobData>,
  ) {
    listenToQueueErrors(queue, this.logger);
    this.secrets = new SecretBox(config.webhooks.secretKey ?? DEVELOPMENT_SECRET_KEY);
    this.urlPolicy = { httpsOnly: config.nodeEnv === 'production', allowPrivateNetworks: config.webhooks.allowPrivateNetworks };
    if (config.webhooks.secretKey === undefined && config.nodeEnv === 'production') {
      this.logger.error('WEBHOOK_SECRET_KEY is unset: webhook secrets are encrypted with the built-in development key');
    }
  }

  async create(
    caller: Caller,
    body: { url: string; eventTypes: EventType[]; description?: string },
  ): Promise<WebhookEndpointWithSecretDto> {
    assertAdmin(caller);
    const url = await this.checkUrl(body.url);
    const id = randomUUID();
    const secret = generateSecret();
    const row = await this.repository.createEndpoint({
      id,
      url,
      description: body.description ?? null,
      eventTypes: unique(body.eventTypes),
      secretCiphertext: this.secrets.seal(secret, id),
      createdBy: caller.userId,
    });
    this.logger.log({ endpointId: id, eventTypes: row.eventTypes }, 'webhook endpoint registered');
    return { ...toWebhookEndpointDto(row), secret };
  }

  async list(caller: Caller): Promise<WebhookEndpointListDto> {
    assertAdmin(caller);
    return { items: (await this.repository.listEndpoints(WEBHOOK_ENDPOINTS_LISTED_MAX)).map(toWebhookEndpointDto) };
  }

  async get(caller: Caller, id: string): Promise<WebhookEndpointDto> {
    assertAdminOr(caller, () => new WebhookEndpointNotFoundError());
    const row = await this.repository.findEndpoint(id);
    if (!row) throw new WebhookEndpointNotFoundError();
    return toWebhookEndpointDto(row);
  }

  async update(
    caller: Caller,
    id: string,
    patch: { url?: string; eventTypes?: EventType[]; enabled?: boolean; description?: string | null },
  ): Promise<WebhookEndpointDto> {
    assertAdminOr(caller, () => new WebhookEndpointNotFoundError());
    if (Object.values(patch).every((value) => value === undefined)) {
      throw new RequestValidationError([{ field: 'body', message: 'name at least one of url, eventTypes, enabled, description' }]);
    }
    const url = patch.url === undefined ? undefined : await this.checkUrl(patch.url);
    const row = await this.repository.updateEndpoint(id, {
      ...patch,
      url,
      eventTypes: patch.eventTypes ? unique(patch.eventTypes) : undefined,
    });
    if (!row) throw new WebhookEndpointNotFoundError();
    return toWebhookEndpointDto(row);
  }

  async remove(caller: Caller, id: string): Promise<void> {
    assertAdminOr(caller, () => new WebhookEndpointNotFoundError());
    if (!(await this.repository.deleteEndpoint(id))) throw new WebhookEndpointNotFoundError();
  }

  /** A new secret, shown once; the old one keeps signing (beside it) for the grace period. */
  async rotateSecret(caller: Caller, id: string): Promise<WebhookEndpointWithSecretDto> {
    assertAdminOr(caller, () => new WebhookEndpointNotFoundError());
    const secret = generateSecret();
    const row = await this.repository.rotateSecret(id, this.secrets.seal(secret, id), SECRET_ROTATION_GRACE_MS);
    if (!row) throw new WebhookEndpointNotFoundError();
    return { ...toWebhookEndpointDto(row), secret };
  }

  async deliveries(
    caller: Caller,
    endpointId: string,
    query: { limit?: string; cursor?: string },
  ): Promise<WebhookDeliveryPageDto> {
    assertAdminOr(caller, () => new WebhookEndpointNotFoundError());
    if (!(await this.repository.findEndpoint(endpointId))) throw new WebhookEndpointNotFoundError();
    const limit = query.limit === undefined ? DELIVERY_PAGE_LIMIT_DEFAULT : Number(query.limit);
    const before = query.cursor === undefined ? undefined : decodeDeliveryCursor(query.cursor);
    const rows = await this.repository.listDeliveries(endpointId, before, limit + 1);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toWebhookDeliveryDto),
      nextCursor: rows.length > limit && last ? encodeDeliveryCursor(last.createdAt, last.id) : null,
    };
  }

  /** New deliveries of the event, same `webhook-id`; queued at once. */
  async redeliver(caller: Caller, eventId: string, endpointId: string | undefined): Promise<RedeliveryDto> {
    assertAdminOr(caller, () => new EventNotFoundError());
    if (!(await this.repository.eventExists(eventId))) throw new EventNotFoundError();
    if (endpointId !== undefined && !(await this.repository.findEndpoint(endpointId))) throw new WebhookEndpointNotFoundError();
    const rows = await this.repository.redeliver(eventId, endpointId);
    // If Redis is down the sweeper enqueues them once it is back: the rows are the record.
    await this.queue
      .addBulk(
        rows.map((row) => ({
          name: DELIVER_JOB,
          data: { deliveryId: row.id, endpointId: row.endpointId },
          opts: { ...DELIVER_JOB_OPTIONS, jobId: deliverJobId(row.id, 0) },
        })),
      )
      .catch((error: unknown) => this.logger.warn({ err: error, eventId }, 'redeliveries not queued; the sweeper will'));
    return { eventId, deliveries: rows.map(toWebhookDeliveryDto) };
  }

  private async checkUrl(raw: string): Promise<string> {
    const shape = checkUrlShape(raw, this.urlPolicy);
    if (!shape.ok) throw new WebhookUrlRefusedError(shape.reason);
    const target = await checkUrlTarget(shape.url, this.urlPolicy);
    if (!target.ok) throw new WebhookUrlRefusedError(target.reason);
    return shape.url.toString();
  }
}

function assertAdmin(caller: Caller): void {
  if (!caller.isAdmin) throw new ForbiddenError();
}

/** Operations on one endpoint or event answer others as if it did not exist, so ids cannot be probed. */
function assertAdminOr(caller: Caller, notFound: () => Error): void {
  if (!caller.isAdmin) throw notFound();
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}

function encodeDeliveryCursor(createdAt: Date, id: string): string {
  return Buffer.from(`${createdAt.toISOString()}|${id}`).toString('base64url');
}

function decodeDeliveryCursor(cursor: string): { createdAt: Date; id: string } {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)\|([0-9a-f-]{36})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  const createdAt = match ? new Date(match[1]!) : undefined;
  if (!match || !createdAt || Number.isNaN(createdAt.getTime())) {
    throw new RequestValidationError([{ field: 'cursor', message: 'cursor must be a nextCursor returned by this endpoint' }]);
  }
  return { createdAt, id: match[2]! };
}
