import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, IsUUID, Matches, MaxLength } from 'class-validator';
import { ISO_INSTANT_PATTERN } from '../../reports/report-period';
import { ITEM_ID_LENGTH_MAX, ITEM_ID_PATTERN, PurchaseDto } from './purchase.dto';
import { UUID } from '../../common/http/api-schema';

export const PURCHASE_PAGE_LIMIT_DEFAULT = 50;
export const PURCHASE_PAGE_LIMIT_MAX = 200;
const PURCHASE_CURSOR_LENGTH_MAX = 96;
const PURCHASE_CURSOR_PATTERN = /^[A-Za-z0-9_-]{1,96}$/;
const INSTANT_TEXT_LENGTH_MAX = 40;

export class PurchaseSearchQueryDto {
  @ApiPropertyOptional({ ...UUID, description: "Purchases this wallet made (its owner, or an admin)", example: '3b1f6f0e-8a53-4c55-9d0e-6a4f3f1d2c10' })
  @IsOptional()
  @IsUUID('all', { message: 'buyerWalletId must be a UUID' })
  buyerWalletId?: string;

  @ApiPropertyOptional({ ...UUID, description: "Purchases that paid this wallet royalties (its owner, or an admin)", example: '8e7d6c5b-4a39-4281-9f0e-d1c2b3a49586' })
  @IsOptional()
  @IsUUID('all', { message: 'authorWalletId must be a UUID' })
  authorWalletId?: string;

  @ApiPropertyOptional({
    type: String,
    pattern: ITEM_ID_PATTERN.source,
    minLength: 1,
    maxLength: ITEM_ID_LENGTH_MAX,
    description: 'Purchases of this item. Alone: admins only; with a wallet filter: that wallet\'s purchases of the item',
    example: 'ebook:978-0-13-468599-1',
  })
  @IsOptional()
  @Matches(ITEM_ID_PATTERN, { message: 'itemId must be 1 to 200 characters of A-Z a-z 0-9 _ . : / -' })
  itemId?: string;

  @ApiPropertyOptional({
    type: String,
    pattern: ISO_INSTANT_PATTERN.source,
    maxLength: INSTANT_TEXT_LENGTH_MAX,
    description: 'Only purchases made at or after this instant (ISO 8601 with an offset, or a date meaning UTC midnight)',
    example: '2026-10-01T00:00:00.000Z',
  })
  @IsOptional()
  @IsString({ message: 'from must be an ISO 8601 date or date-time' })
  @MaxLength(INSTANT_TEXT_LENGTH_MAX, { message: 'from must be an ISO 8601 date or date-time' })
  from?: string;

  @ApiPropertyOptional({
    type: String,
    pattern: ISO_INSTANT_PATTERN.source,
    maxLength: INSTANT_TEXT_LENGTH_MAX,
    description: 'Only purchases made before this instant (exclusive)',
    example: '2026-11-01T00:00:00.000Z',
  })
  @IsOptional()
  @IsString({ message: 'to must be an ISO 8601 date or date-time' })
  @MaxLength(INSTANT_TEXT_LENGTH_MAX, { message: 'to must be an ISO 8601 date or date-time' })
  to?: string;

  @ApiPropertyOptional({
    description: 'The nextCursor of the previous page',
    pattern: PURCHASE_CURSOR_PATTERN.source,
    maxLength: PURCHASE_CURSOR_LENGTH_MAX,
    example: 'cDE3OTk5MDAwMDAwMDAuNWUzYzFmN2EtMmI4ZC00YTZlLTlmMTAtN2M0ZDNiMmExZTA5',
  })
  @IsOptional()
  @Matches(PURCHASE_CURSOR_PATTERN, { message: 'cursor must be a nextCursor returned by this endpoint' })
  cursor?: string;

  @ApiPropertyOptional({
    description: `Page size, 1 to ${PURCHASE_PAGE_LIMIT_MAX} (default ${PURCHASE_PAGE_LIMIT_DEFAULT})`,
    type: 'integer',
    format: 'int32',
    minimum: 1,
    maximum: PURCHASE_PAGE_LIMIT_MAX,
    default: PURCHASE_PAGE_LIMIT_DEFAULT,
    example: 50,
  })
  @IsOptional()
  @Matches(/^(?:[1-9]|[1-9]\d|1\d\d|200)$/, { message: `limit must be a whole number from 1 to ${PURCHASE_PAGE_LIMIT_MAX}` })
  limit?: string;
}

export class PurchasePageDto {
  @ApiProperty({ type: [PurchaseDto], maxItems: PURCHASE_PAGE_LIMIT_MAX, description: 'Newest first' })
  items!: PurchaseDto[];

  @ApiProperty({
    type: String,
    nullable: true,
    pattern: PURCHASE_CURSOR_PATTERN.source,
    maxLength: PURCHASE_CURSOR_LENGTH_MAX,
    description: 'null on the last page',
    example: 'cDE3OTk5MDAwMDAwMDAuNWUzYzFmN2EtMmI4ZC00YTZlLTlmMTAtN2M0ZDNiMmExZTA5',
  })
  nextCursor!: string | null;
}
