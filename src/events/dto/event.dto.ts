import { ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import { IsOptional, Matches } from 'class-validator';
import { INSTANT, UUID } from '../../common/http/api-schema';
import { EVENT_TYPES, type EventType } from '../event-types';
import { PurchaseDto } from '../../purchases/dto/purchase.dto';
import { WalletDto } from '../../wallets/dto/wallet.dto';
import { WithdrawalDto } from '../../payouts/dto/withdrawal.dto';
import { EVENT_CURSOR_LENGTH_MAX, EVENT_CURSOR_PATTERN, encodeEventCursor } from '../event-cursor';
import type { FeedPosition } from '../event-cursor';
import type { EventRow } from '../events.repository';

export const EVENT_PAGE_LIMIT_DEFAULT = 100;
export const EVENT_PAGE_LIMIT_MAX = 500;
/** `type` is one event type or several, comma-separated. */
const TYPE_LIST_LENGTH_MAX = 200;

export class EventQueryDto {
  @ApiPropertyOptional({
    description: 'The nextCursor of the previous page; omit to start at the first event',
    pattern: EVENT_CURSOR_PATTERN.source,
    maxLength: EVENT_CURSOR_LENGTH_MAX,
    example: 'cDEyMzQuNTY3',
  })
  @IsOptional()
  @Matches(EVENT_CURSOR_PATTERN, { message: 'after must be a nextCursor returned by GET /events' })
  after?: string;

  @ApiPropertyOptional({
    description: `Only events of this type, or of these comma-separated types: ${EVENT_TYPES.join(', ')}`,
    pattern: '^[a-z.]+(,[a-z.]+)*$',
    maxLength: TYPE_LIST_LENGTH_MAX,
    example: 'purchase.completed',
  })
  @IsOptional()
  @Matches(/^[a-z.]{1,40}(,[a-z.]{1,40}){0,7}$/, { message: `type must be one or more of ${EVENT_TYPES.join(', ')}, comma-separated` })
  type?: string;

  @ApiPropertyOptional({
    description: `Page size, 1 to ${EVENT_PAGE_LIMIT_MAX} (default ${EVENT_PAGE_LIMIT_DEFAULT})`,
    type: 'integer',
    format: 'int32',
    minimum: 1,
    maximum: EVENT_PAGE_LIMIT_MAX,
    default: EVENT_PAGE_LIMIT_DEFAULT,
    example: 100,
  })
  @IsOptional()
  @Matches(/^(?:[1-9]\d{0,1}|[1-4]\d\d|500)$/, { message: `limit must be a whole number from 1 to ${EVENT_PAGE_LIMIT_MAX}` })
  limit?: string;
}

export class EventDto {
  @ApiProperty({ ...UUID, description: 'The event id; webhook deliveries send it as `webhook-id`', example: '0f8e2d4c-6b1a-4e3f-9d2c-8a7b6c5d4e3f' })
  id!: string;

  @ApiProperty({ enum: EVENT_TYPES, example: 'purchase.completed' })
  type!: EventType;

  @ApiProperty({ ...INSTANT, description: 'When the movement committed its transaction (its createdAt)', example: '2026-11-21T10:30:00.000Z' })
  createdAt!: Date;

  @ApiProperty({
    description:
      'The resource as the API returns it: a purchase for purchase.*, the wallet after the deposit for ' +
      'deposit.created, a withdrawal for withdrawal.*, a refund for refund.created',
    oneOf: [{ $ref: getSchemaPath(PurchaseDto) }, { $ref: getSchemaPath(WalletDto) }, { $ref: getSchemaPath(WithdrawalDto) }],
    example: {
      id: '5e3c1f7a-2b8d-4a6e-9f10-7c4d3b2a1e09',
      idempotencyKey: '7d0e2f9c-4b1a-4f3e-9c2d-1a2b3c4d5e6f',
      buyerWalletId: '3b1f6f0e-8a53-4c55-9d0e-6a4f3f1d2c10',
      authorWalletId: '8e7d6c5b-4a39-4281-9f0e-d1c2b3a49586',
      itemPrice: 1999,
      authorAmount: 1399,
      platformAmount: 600,
      status: 'completed',
      createdAt: '2026-11-21T10:30:00.000Z',
    },
  })
  data!: Record<string, unknown>;
}

export class EventPageDto {
  @ApiProperty({ type: [EventDto], maxItems: EVENT_PAGE_LIMIT_MAX })
  items!: EventDto[];

  @ApiProperty({
    type: String,
    pattern: EVENT_CURSOR_PATTERN.source,
    maxLength: EVENT_CURSOR_LENGTH_MAX,
    description:
      'Pass as `after` to read on. Never null: an empty `items` means you are up to date; poll again ' +
      'with the same cursor. Following it, you see every event exactly once, in commit-safe order.',
    example: 'cDEyMzQuNTY3',
  })
  nextCursor!: string;
}

export function toEventDto(row: EventRow): EventDto {
  return { id: row.id, type: row.type, createdAt: row.createdAt, data: row.data };
}

export function toEventPageDto(rows: EventRow[], position: FeedPosition): EventPageDto {
  return { items: rows.map(toEventDto), nextCursor: encodeEventCursor(position) };
}
