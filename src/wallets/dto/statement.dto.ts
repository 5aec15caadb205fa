import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, MaxLength, IsOptional } from 'class-validator';
import { CENTS, INSTANT, SAFE_INTEGER_MAX, UUID } from '../../common/http/api-schema';
import { ISO_INSTANT_PATTERN } from '../../reports/report-period';

const INSTANT_TEXT_LENGTH_MAX = 40;
const INSTANT_TEXT = { type: String, pattern: ISO_INSTANT_PATTERN.source, maxLength: INSTANT_TEXT_LENGTH_MAX } as const;

export class BalanceAtQueryDto {
  @ApiProperty({
    ...INSTANT_TEXT,
    description: 'The instant (ISO 8601 with an offset, or a date meaning UTC midnight); postings made at or before it count',
    example: '2026-12-31T23:59:59.999Z',
  })
  @IsString({ message: 'at must be an ISO 8601 date or date-time' })
  @MaxLength(INSTANT_TEXT_LENGTH_MAX, { message: 'at must be an ISO 8601 date or date-time' })
  at!: string;
}

export class BalanceAtDto {
  @ApiProperty({ ...UUID, example: '8e7d6c5b-4a39-4281-9f0e-d1c2b3a49586' })
  walletId!: string;

  @ApiProperty({ ...INSTANT, example: '2026-12-31T23:59:59.999Z' })
  at!: Date;

  @ApiProperty({ ...CENTS, minimum: 0, maximum: SAFE_INTEGER_MAX, description: 'Integer cents the wallet held at that instant', example: 1399 })
  balance!: number;

  @ApiProperty({ type: 'integer', format: 'int32', minimum: 0, maximum: 99, description: 'Its royalty carry in centi-cents', example: 30 })
  fractionalBalance!: number;
}

export class StatementQueryDto {
  @ApiPropertyOptional({ ...INSTANT_TEXT, description: 'Start, inclusive (default: the beginning)', example: '2026-10-01T00:00:00.000Z' })
  @IsOptional()
  @IsString({ message: 'from must be an ISO 8601 date or date-time' })
  @MaxLength(INSTANT_TEXT_LENGTH_MAX, { message: 'from must be an ISO 8601 date or date-time' })
  from?: string;

  @ApiPropertyOptional({ ...INSTANT_TEXT, description: 'End, exclusive (default: now)', example: '2026-11-01T00:00:00.000Z' })
  @IsOptional()
  @IsString({ message: 'to must be an ISO 8601 date or date-time' })
  @MaxLength(INSTANT_TEXT_LENGTH_MAX, { message: 'to must be an ISO 8601 date or date-time' })
  to?: string;
}

/** The statement's columns, in order (the CSV header row). */
export const STATEMENT_COLUMNS = ['createdAt', 'type', 'amount', 'balance', 'id', 'transactionId', 'purchaseId'] as const;
