import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { ISO_INSTANT_PATTERN } from '../../reports/report-period';
import { AMOUNT_CENTS_MAX } from './amount.dto';
import { CENTS, INSTANT, UUID } from '../../common/http/api-schema';
import type { LedgerEntryRow } from '../wallets.repository';

export const LEDGER_ENTRY_TYPES = ['deposit', 'withdrawal', 'withdrawal_failed', 'purchase', 'refund', 'hold', 'hold_release'] as const;
export type LedgerEntryType = (typeof LEDGER_ENTRY_TYPES)[number];
const INSTANT_TEXT_LENGTH_MAX = 40;
export const LEDGER_PAGE_LIMIT_DEFAULT = 50;
export const LEDGER_PAGE_LIMIT_MAX = 200;

/** What a nextCursor looks like (base64url of a posting id); anything else is a 400. */
const LEDGER_CURSOR_LENGTH_MAX = 64;
const LEDGER_CURSOR_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export class LedgerQueryDto {
  @ApiPropertyOptional({
    description: `Page size, 1 to ${LEDGER_PAGE_LIMIT_MAX} (default ${LEDGER_PAGE_LIMIT_DEFAULT})`,
    type: 'integer',
    format: 'int32',
    minimum: 1,
    maximum: LEDGER_PAGE_LIMIT_MAX,
    default: LEDGER_PAGE_LIMIT_DEFAULT,
    example: 50,
  })
  @IsOptional()
  @Matches(/^(?:[1-9]|[1-9]\d|1\d\d|200)$/, { message: `limit must be a whole number from 1 to ${LEDGER_PAGE_LIMIT_MAX}` })
  limit?: string;

  @ApiPropertyOptional({
    description: 'The nextCursor of the previous page',
    pattern: LEDGER_CURSOR_PATTERN.source,
    maxLength: LEDGER_CURSOR_LENGTH_MAX,
    example: 'MTIzNDU',
  })
  @IsOptional()
  @Matches(LEDGER_CURSOR_PATTERN, { message: 'cursor must be a nextCursor returned by this endpoint' })
  cursor?: string;

  @ApiPropertyOptional({ enum: LEDGER_ENTRY_TYPES, description: 'Only postings of this type', example: 'purchase' })
  @IsOptional()
  @IsIn(LEDGER_ENTRY_TYPES, { message: `type must be one of ${LEDGER_ENTRY_TYPES.join(', ')}` })
  type?: LedgerEntryType;

  @ApiPropertyOptional({
    type: String,
    pattern: ISO_INSTANT_PATTERN.source,
    maxLength: INSTANT_TEXT_LENGTH_MAX,
    description: 'Only postings made at or after this instant (ISO 8601 with an offset, or a date meaning UTC midnight)',
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
    description: 'Only postings made before this instant (exclusive)',
    example: '2026-11-01T00:00:00.000Z',
  })
  @IsOptional()
  @IsString({ message: 'to must be an ISO 8601 date or date-time' })
  @MaxLength(INSTANT_TEXT_LENGTH_MAX, { message: 'to must be an ISO 8601 date or date-time' })
  to?: string;
}

export class LedgerEntryDto {
  @ApiProperty({ description: 'Posting id (a string: it may exceed 2^53)', pattern: '^[0-9]{1,19}$', maxLength: 19, example: '12345' })
  id!: string;

  @ApiProperty({ ...UUID, example: '5e3c1f7a-2b8d-4a6e-9f10-7c4d3b2a1e09' })
  transactionId!: string;

  @ApiProperty({
    enum: LEDGER_ENTRY_TYPES,
    description:
      '`withdrawal_failed`: a failed payout returning to the wallet (its transactionId is not the withdrawal id); `hold`: ' +
      'a purchase authorized with capture: false; `hold_release`: the hold coming back (void, expiry, or the part its ' +
      'capture did not take: a capture is paid from the held money, so its purchase posts nothing to the buyer)',
    example: 'purchase',
  })
  type!: LedgerEntryType;

  @ApiProperty({
    ...CENTS,
    minimum: -AMOUNT_CENTS_MAX,
    maximum: AMOUNT_CENTS_MAX,
    description: 'Signed integer cents: + credit, − debit',
    example: -1999,
  })
  amount!: number;

  @ApiProperty({ ...INSTANT, example: '2026-11-21T10:30:00.000Z' })
  createdAt!: Date;

  @ApiPropertyOptional({ ...UUID, description: 'Present on purchase and refund postings: the purchase they belong to', example: '5e3c1f7a-2b8d-4a6e-9f10-7c4d3b2a1e09' })
  purchaseId?: string;
}

export class LedgerPageDto {
  @ApiProperty({ type: [LedgerEntryDto], maxItems: LEDGER_PAGE_LIMIT_MAX })
  items!: LedgerEntryDto[];

  @ApiProperty({
    type: String,
    nullable: true,
    pattern: LEDGER_CURSOR_PATTERN.source,
    maxLength: LEDGER_CURSOR_LENGTH_MAX,
    description: 'null on the last page',
    example: 'MTIzMDA',
  })
  nextCursor!: string | null;
}

export function toLedgerEntryDto(row: LedgerEntryRow): LedgerEntryDto {
  return {
    id: String(row.id),
    transactionId: row.transactionId,
    type: row.type,
    amount: row.amountCents,
    createdAt: row.createdAt,
    ...(row.type === 'purchase' ? { purchaseId: row.transactionId } : {}),
    ...(row.refundOfPurchaseId !== null ? { purchaseId: row.refundOfPurchaseId } : {}),
  };
}
