import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, Matches } from 'class-validator';
import { CENTS, COUNT, INSTANT, SAFE_INTEGER_MAX, UUID } from '../../common/http/api-schema';
import { ITEM_ID_LENGTH_MAX, ITEM_ID_PATTERN } from '../../purchases/dto/purchase.dto';
import type { AuthorFigures, AuthorRanking } from '../reports.repository';
import { RequiredPeriodDto } from './period.dto';

export const TOP_AUTHORS_LIMIT_DEFAULT = 10;
export const TOP_AUTHORS_LIMIT_MAX = 100;

/** A sum of cents over a period or all time. */
const MONEY_TOTAL = { ...CENTS, minimum: 0, maximum: SAFE_INTEGER_MAX } as const;
/** A net sum: refunds in a period can take back more than the period's sales credited. */
const NET_MONEY_TOTAL = { ...CENTS, minimum: -SAFE_INTEGER_MAX, maximum: SAFE_INTEGER_MAX } as const;

const REFUND_FIGURES_DOC = {
  refundedVolume: { ...MONEY_TOTAL, description: 'Cents refunded to buyers of this author’s items in the period', example: 1_999 },
  royaltiesTakenBack: {
    ...MONEY_TOTAL,
    description: 'Whole cents those refunds took back from the author (including cents that became debt)',
    example: 1_399,
  },
} as const;

export class TopAuthorsQueryDto extends RequiredPeriodDto {
  @ApiPropertyOptional({
    description: `How many authors, 1 to ${TOP_AUTHORS_LIMIT_MAX} (default ${TOP_AUTHORS_LIMIT_DEFAULT})`,
    type: 'integer',
    format: 'int32',
    minimum: 1,
    maximum: TOP_AUTHORS_LIMIT_MAX,
    default: TOP_AUTHORS_LIMIT_DEFAULT,
    example: 10,
  })
  @IsOptional()
  @Matches(/^(?:[1-9]|[1-9]\d|100)$/, { message: `limit must be a whole number from 1 to ${TOP_AUTHORS_LIMIT_MAX}` })
  limit?: string;

  @ApiPropertyOptional({
    type: String,
    pattern: ITEM_ID_PATTERN.source,
    minLength: 1,
    maxLength: ITEM_ID_LENGTH_MAX,
    description: 'Only the sales and refunds of this item (the itemId its purchases named): its authors and payees, each with its own part',
    example: 'ebook:978-0-13-468599-1',
  })
  @IsOptional()
  @Matches(ITEM_ID_PATTERN, { message: 'itemId must be 1 to 200 characters of A-Z a-z 0-9 _ . : / -' })
  itemId?: string;
}

export class AuthorRankingDto {
  @ApiProperty({ ...UUID, example: '8e7d6c5b-4a39-4281-9f0e-d1c2b3a49586' })
  authorWalletId!: string;

  @ApiProperty({ ...COUNT, description: 'Purchases of this author’s items in the period', example: 128 })
  salesCount!: number;

  @ApiProperty({ ...MONEY_TOTAL, description: 'Sum of item prices, in cents', example: 255_872 })
  grossVolume!: number;

  @ApiProperty({
    ...NET_MONEY_TOTAL,
    description: 'Whole cents credited to the author in the period, net of refunds (royalties − royaltiesTakenBack)',
    example: 177_711,
  })
  royaltiesCredited!: number;

  @ApiProperty(REFUND_FIGURES_DOC.refundedVolume)
  refundedVolume!: number;

  @ApiProperty(REFUND_FIGURES_DOC.royaltiesTakenBack)
  royaltiesTakenBack!: number;
}

export class TopAuthorsDto {
  @ApiProperty({ ...INSTANT, description: 'Inclusive start of the period', example: '2026-10-01T00:00:00.000Z' })
  from!: string;

  @ApiProperty({ ...INSTANT, description: 'Exclusive end of the period', example: '2026-11-01T00:00:00.000Z' })
  to!: string;

  @ApiProperty({
    type: [AuthorRankingDto],
    maxItems: TOP_AUTHORS_LIMIT_MAX,
    description: 'Ordered by royaltiesCredited (net of refunds) descending, then authorWalletId ascending',
  })
  items!: AuthorRankingDto[];
}

export class AuthorRoyaltiesDto {
  @ApiProperty({ ...UUID, example: '8e7d6c5b-4a39-4281-9f0e-d1c2b3a49586' })
  walletId!: string;

  @ApiProperty({ ...INSTANT, nullable: true, description: 'Inclusive start; null for all time', example: '2026-10-01T00:00:00.000Z' })
  from!: string | null;

  @ApiProperty({ ...INSTANT, nullable: true, description: 'Exclusive end; null for all time', example: '2026-11-01T00:00:00.000Z' })
  to!: string | null;

  @ApiProperty({ ...COUNT, example: 128 })
  salesCount!: number;

  @ApiProperty({ ...MONEY_TOTAL, description: 'Sum of item prices, in cents', example: 255_872 })
  grossVolume!: number;

  @ApiProperty({
    ...NET_MONEY_TOTAL,
    description: 'Whole cents credited to the author, net of refunds (royalties − royaltiesTakenBack)',
    example: 177_711,
  })
  royaltiesCredited!: number;

  @ApiProperty(REFUND_FIGURES_DOC.refundedVolume)
  refundedVolume!: number;

  @ApiProperty(REFUND_FIGURES_DOC.royaltiesTakenBack)
  royaltiesTakenBack!: number;

  @ApiProperty({
    type: 'integer',
    format: 'int32',
    minimum: 0,
    maximum: 99,
    description: 'Current carry in centi-cents (0..99), not yet a whole cent',
    example: 40,
  })
  fractionalBalance!: number;
}

export function toAuthorRankingDto(row: AuthorRanking): AuthorRankingDto {
  return {
    authorWalletId: row.authorWalletId,
    salesCount: row.salesCount,
    grossVolume: row.grossVolumeCents,
    royaltiesCredited: row.royaltyCents - row.royaltyRefundedCents,
    refundedVolume: row.refundedVolumeCents,
    royaltiesTakenBack: row.royaltyRefundedCents,
  };
}

export function toAuthorRoyaltiesDto(
  walletId: string,
  period: { from: Date; to: Date } | null,
  figures: AuthorFigures,
): AuthorRoyaltiesDto {
  return {
    walletId,
    from: period ? period.from.toISOString() : null,
    to: period ? period.to.toISOString() : null,
    salesCount: figures.salesCount,
    grossVolume: figures.grossVolumeCents,
    royaltiesCredited: figures.royaltyCents - figures.royaltyRefundedCents,
    refundedVolume: figures.refundedVolumeCents,
    royaltiesTakenBack: figures.royaltyRefundedCents,
    fractionalBalance: figures.carryCentiCents,
  };
}
