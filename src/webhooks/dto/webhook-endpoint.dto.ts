import { ApiProperty, ApiPropertyOptional, type ApiPropertyOptions } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsOptional,
  IsString,
  MaxLength,
  MinLength,
  ValidateIf,
} from 'class-validator';
import { INSTANT, MESSAGE_LENGTH_MAX, UUID } from '../../common/http/api-schema';
import { EVENT_TYPES, type EventType } from '../../events/event-types';
import { WEBHOOK_URL_LENGTH_MAX } from '../webhook-url';
import type { EndpointRow } from '../webhooks.repository';

export const DESCRIPTION_LENGTH_MAX = 500;
const SECRET_LENGTH_MAX = 64;
const EVENT_TYPE_LENGTH_MAX = 40;

const URL_PROPERTY = {
  type: String,
  format: 'uri',
  minLength: 1,
  maxLength: WEBHOOK_URL_LENGTH_MAX,
  description:
    'Where deliveries are POSTed. https only in production; hosts resolving to loopback, private, link-local or ' +
    'reserved addresses are refused unless WEBHOOK_ALLOW_PRIVATE_NETWORKS=true (checked again at every delivery)',
  example: 'https://hooks.example.com/wallet',
};

const EVENT_TYPES_PROPERTY: ApiPropertyOptions = {
  type: 'array',
  items: { type: 'string', enum: [...EVENT_TYPES], maxLength: EVENT_TYPE_LENGTH_MAX },
  minItems: 1,
  maxItems: EVENT_TYPES.length,
  uniqueItems: true,
  description: 'The event types to deliver',
  example: ['purchase.completed', 'withdrawal.created'],
};

export class CreateWebhookEndpointDto {
  @ApiProperty(URL_PROPERTY)
  @IsString({ message: 'url must be a string' })
  @MinLength(1, { message: 'url must not be empty' })
  @MaxLength(WEBHOOK_URL_LENGTH_MAX, { message: `url must be at most ${WEBHOOK_URL_LENGTH_MAX} characters` })
  url!: string;

  @ApiProperty(EVENT_TYPES_PROPERTY)
  @IsArray({ message: 'eventTypes must be an array of event types' })
  @ArrayMinSize(1, { message: 'eventTypes must name at least one event type' })
  @ArrayMaxSize(EVENT_TYPES.length, { message: `eventTypes must name at most ${EVENT_TYPES.length} event types` })
  @IsIn(EVENT_TYPES, { each: true, message: `each of eventTypes must be one of ${EVENT_TYPES.join(', ')}` })
  eventTypes!: EventType[];

  @ApiPropertyOptional({ type: String, maxLength: DESCRIPTION_LENGTH_MAX, description: 'For people: what this receiver is', example: 'Accounting sync' })
  @IsOptional()
  @IsString({ message: 'description must be a string' })
  @MaxLength(DESCRIPTION_LENGTH_MAX, { message: `description must be at most ${DESCRIPTION_LENGTH_MAX} characters` })
  description?: string;
}

export class UpdateWebhookEndpointDto {
  @ApiPropertyOptional(URL_PROPERTY)
  @IsOptional()
  @IsString({ message: 'url must be a string' })
  @MinLength(1, { message: 'url must not be empty' })
  @MaxLength(WEBHOOK_URL_LENGTH_MAX, { message: `url must be at most ${WEBHOOK_URL_LENGTH_MAX} characters` })
  url?: string;

  @ApiPropertyOptional(EVENT_TYPES_PROPERTY)
  @IsOptional()
  @IsArray({ message: 'eventTypes must be an array of event types' })
  @ArrayMinSize(1, { message: 'eventTypes must name at least one event type' })
  @ArrayMaxSize(EVENT_TYPES.length, { message: `eventTypes must name at most ${EVENT_TYPES.length} event types` })
  @IsIn(EVENT_TYPES, { each: true, message: `each of eventTypes must be one of ${EVENT_TYPES.join(', ')}` })
  eventTypes?: EventType[];

  @ApiPropertyOptional({ description: 'false pauses deliveries (they wait); true resumes them and clears an automatic disable', example: true })
  @IsOptional()
  @IsBoolean({ message: 'enabled must be true or false' })
  enabled?: boolean;

  @ApiPropertyOptional({ type: String, nullable: true, maxLength: DESCRIPTION_LENGTH_MAX, example: 'Accounting sync' })
  @IsOptional()
  @ValidateIf((_object, value) => value !== null)
  @IsString({ message: 'description must be a string or null' })
  @MaxLength(DESCRIPTION_LENGTH_MAX, { message: `description must be at most ${DESCRIPTION_LENGTH_MAX} characters` })
  description?: string | null;
}

export class WebhookEndpointDto {
  @ApiProperty({ ...UUID, example: '2c9d7e1f-4a3b-4c5d-8e6f-7a8b9c0d1e2f' })
  id!: string;

  @ApiProperty({ ...URL_PROPERTY, description: 'Where deliveries are POSTed' })
  url!: string;

  @ApiProperty({ type: String, nullable: true, maxLength: DESCRIPTION_LENGTH_MAX, example: 'Accounting sync' })
  description!: string | null;

  @ApiProperty(EVENT_TYPES_PROPERTY)
  eventTypes!: EventType[];

  @ApiProperty({ description: 'Whether deliveries are made', example: true })
  enabled!: boolean;

  @ApiProperty({
    type: String,
    nullable: true,
    maxLength: MESSAGE_LENGTH_MAX,
    description: 'Why the endpoint was disabled automatically (failing for WEBHOOK_DISABLE_AFTER_HOURS); null otherwise',
    example: null,
  })
  disabledReason!: string | null;

  @ApiProperty({ ...INSTANT, nullable: true, description: 'Since when every attempt has failed; null when the last one succeeded', example: null })
  failingSince!: Date | null;

  @ApiProperty({ ...INSTANT, nullable: true, description: 'Until when the previous secret also signs, after a rotation', example: null })
  previousSecretExpiresAt!: Date | null;

  @ApiProperty({ ...INSTANT, example: '2026-11-21T10:00:00.000Z' })
  createdAt!: Date;

  @ApiProperty({ ...INSTANT, example: '2026-11-21T10:00:00.000Z' })
  updatedAt!: Date;
}

export class WebhookEndpointWithSecretDto extends WebhookEndpointDto {
  @ApiProperty({
    type: String,
    pattern: '^whsec_[A-Za-z0-9+/=]+$',
    maxLength: SECRET_LENGTH_MAX,
    description: 'The signing secret, shown only in this response: store it now (Standard Webhooks `whsec_` form)',
    example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw7ZhsZ7lW4Xc=',
  })
  secret!: string;
}

export class WebhookEndpointListDto {
  @ApiProperty({ type: [WebhookEndpointDto], maxItems: 100 })
  items!: WebhookEndpointDto[];
}

export function toWebhookEndpointDto(row: EndpointRow): WebhookEndpointDto {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    eventTypes: row.eventTypes,
    enabled: row.enabled,
    disabledReason: row.disabledReason,
    failingSince: row.failingSince,
    previousSecretExpiresAt: row.previousSecretExpiresAt,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
