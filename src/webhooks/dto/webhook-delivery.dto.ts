import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsUUID, Matches } from 'class-validator';
import { INSTANT, MESSAGE_LENGTH_MAX, UUID } from '../../common/http/api-schema';
import { EVENT_TYPES, type EventType } from '../../events/event-types';
import type { AttemptRecord, DeliveryRow } from '../webhooks.repository';

export const DELIVERY_PAGE_LIMIT_DEFAULT = 50;
export const DELIVERY_PAGE_LIMIT_MAX = 100;
export const ATTEMPTS_MAX = 20;
const DELIVERY_CURSOR_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;
const STATUS_CODE = { type: 'integer', format: 'int32', minimum: 100, maximum: 599, nullable: true } as const;

export class DeliveryQueryDto {
  @ApiPropertyOptional({
    description: `Page size, 1 to ${DELIVERY_PAGE_LIMIT_MAX} (default ${DELIVERY_PAGE_LIMIT_DEFAULT})`,
    type: 'integer',
    format: 'int32',
    minimum: 1,
    maximum: DELIVERY_PAGE_LIMIT_MAX,
    default: DELIVERY_PAGE_LIMIT_DEFAULT,
    example: 50,
  })
  @IsOptional()
  @Matches(/^(?:[1-9]\d?|100)$/, { message: `limit must be a whole number from 1 to ${DELIVERY_PAGE_LIMIT_MAX}` })
  limit?: string;

  @ApiPropertyOptional({ description: 'The nextCursor of the previous page', pattern: DELIVERY_CURSOR_PATTERN.source, maxLength: 128, example: 'MjAyNi0xMS0yMVQxMDozMDowMC4wMDBaLjVl' })
  @IsOptional()
  @Matches(DELIVERY_CURSOR_PATTERN, { message: 'cursor must be a nextCursor returned by this endpoint' })
  cursor?: string;
}

export class DeliveryAttemptDto {
  @ApiProperty({ ...INSTANT, description: 'When the attempt ended', example: '2026-11-21T10:30:00.412Z' })
  at!: string;

  @ApiProperty({ ...STATUS_CODE, description: "The receiver's HTTP status; null when none came (timeout, refused connection)", example: 200 })
  statusCode!: number | null;

  @ApiProperty({ type: 'integer', format: 'int32', minimum: 0, maximum: 3_600_000, description: 'Milliseconds from sending to the answer (or the failure)', example: 41 })
  latencyMs!: number;

  @ApiProperty({ type: String, nullable: true, maxLength: MESSAGE_LENGTH_MAX, description: 'Why it failed; null on success', example: null })
  error!: string | null;
}

export class WebhookDeliveryDto {
  @ApiProperty({ ...UUID, example: '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d' })
  id!: string;

  @ApiProperty({ ...UUID, description: 'The endpoint delivered to', example: '2c9d7e1f-4a3b-4c5d-8e6f-7a8b9c0d1e2f' })
  endpointId!: string;

  @ApiProperty({ ...UUID, description: 'The event delivered; sent as `webhook-id`', example: '0f8e2d4c-6b1a-4e3f-9d2c-8a7b6c5d4e3f' })
  eventId!: string;

  @ApiProperty({ enum: EVENT_TYPES, example: 'purchase.completed' })
  eventType!: EventType;

  @ApiProperty({ enum: ['feed', 'redeliver'], description: '`redeliver`: made by POST /events/{eventId}/redeliver', example: 'feed' })
  origin!: 'feed' | 'redeliver';

  @ApiProperty({ enum: ['pending', 'delivered', 'failed'], example: 'delivered' })
  status!: 'pending' | 'delivered' | 'failed';

  @ApiProperty({ type: 'integer', format: 'int32', minimum: 0, maximum: ATTEMPTS_MAX, example: 1 })
  attemptCount!: number;

  @ApiProperty({ ...INSTANT, nullable: true, description: 'When the next attempt is due; null once delivered or failed', example: null })
  nextAttemptAt!: Date | null;

  @ApiProperty({ ...STATUS_CODE, description: 'The status of the last attempt', example: 200 })
  lastStatusCode!: number | null;

  @ApiProperty({ type: [DeliveryAttemptDto], maxItems: ATTEMPTS_MAX })
  attempts!: DeliveryAttemptDto[];

  @ApiProperty({ ...INSTANT, example: '2026-11-21T10:30:00.120Z' })
  createdAt!: Date;

  @ApiProperty({ ...INSTANT, nullable: true, description: 'When it was delivered or given up', example: '2026-11-21T10:30:00.412Z' })
  finishedAt!: Date | null;
}

export class WebhookDeliveryPageDto {
  @ApiProperty({ type: [WebhookDeliveryDto], maxItems: DELIVERY_PAGE_LIMIT_MAX })
  items!: WebhookDeliveryDto[];

  @ApiProperty({ type: String, nullable: true, pattern: DELIVERY_CURSOR_PATTERN.source, maxLength: 128, description: 'null on the last page', example: null })
  nextCursor!: string | null;
}

export class RedeliverDto {
  @ApiPropertyOptional({ ...UUID, description: 'Only to this endpoint; default: every enabled endpoint subscribed to the event type', example: '2c9d7e1f-4a3b-4c5d-8e6f-7a8b9c0d1e2f' })
  @IsOptional()
  @IsUUID('all', { message: 'endpointId must be a UUID' })
  endpointId?: string;
}

export class RedeliveryDto {
  @ApiProperty({ ...UUID, example: '0f8e2d4c-6b1a-4e3f-9d2c-8a7b6c5d4e3f' })
  eventId!: string;

  @ApiProperty({ type: [WebhookDeliveryDto], maxItems: 100, description: 'The new deliveries, one per endpoint; empty when no endpoint takes this event' })
  deliveries!: WebhookDeliveryDto[];
}

function toAttemptDto(attempt: AttemptRecord): DeliveryAttemptDto {
  return { at: attempt.at, statusCode: attempt.statusCode, latencyMs: attempt.latencyMs, error: attempt.error };
}

export function toWebhookDeliveryDto(row: DeliveryRow): WebhookDeliveryDto {
  return {
    id: row.id,
    endpointId: row.endpointId,
    eventId: row.eventId,
    eventType: row.eventType,
    origin: row.origin,
    status: row.status,
    attemptCount: row.attemptCount,
    nextAttemptAt: row.status === 'pending' ? row.nextAttemptAt : null,
    lastStatusCode: row.lastStatusCode,
    attempts: row.attempts.map(toAttemptDto),
    createdAt: row.createdAt,
    finishedAt: row.finishedAt,
  };
}
