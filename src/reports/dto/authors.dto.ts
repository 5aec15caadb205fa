import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, Matches } from 'class-validator';
import type { AuthorFigures, AuthorRanking } from '../reports.repository';
import { PeriodDto } from './period.dto';

export const TOP_AUTHORS_LIMIT_DEFAULT = 10;
export const TOP_AUTHORS_LIMIT_MAX = 100;

export class TopAuthorsQueryDto extends PeriodDto {
  @ApiPropertyOptional({
    description: `How many authors, 1 to ${TOP_AUTHORS_LIMIT_MAX} (default ${TOP_AUTHORS_LIMIT_DEFAULT})`,
    example: 10,
  })
  @IsOptional()
  @Matches(/^(?:[1-9]|[1-9]\d|100)$/, { message: `limit must be a whole number from 1 to ${TOP_AUTHORS_LIMIT_MAX}` })
  limit?: string;
}

export class AuthorRankingDto {
  @ApiProperty({ format: 'uuid', example: '8e7d6c5b-4a39-4281-9f0e-d1c2b3a49586' })
  authorWalletId!: string;

  @ApiProperty({ description: 'Purchases of this author’s items in the period', example: 128 })
  salesCount!: number;

  @ApiProperty({ description: 'Sum of item prices, in cents', example: 255_872 })
  grossVolume!: number;

  @ApiProperty({ description: 'Whole cents credited to the author in the period', example: 179_110 })
  royaltiesCredited!: number;
}

export class TopAuthorsDto {
  @ApiProperty({ example: '2026-10-01T00:00:00.000Z' })
  from!: string;

  @ApiProperty({ example: '2026-11-01T00:00:00.000Z' })
  to!: string;

  @ApiProperty({
    type: [AuthorRankingDto],
    description: 'Ordered by royaltiesCredited descending, then authorWalletId ascending',
  })
  items!: AuthorRankingDto[];
}

export class AuthorRoyaltiesDto {
  @ApiProperty({ format: 'uuid', example: '8e7d6c5b-4a39-4281-9f0e-d1c2b3a49586' })
  walletId!: string;

  @ApiProperty({ type: String, nullable: true, description: 'Inclusive start; null for all time', example: '2026-10-01T00:00:00.000Z' })
  from!: string | null;

  @ApiProperty({ type: String, nullable: true, description: 'Exclusive end; null for all time', example: '2026-11-01T00:00:00.000Z' })
  to!: string | null;

  @ApiProperty({ example: 128 })
  salesCount!: number;

  @ApiProperty({ description: 'Sum of item prices, in cents', example: 255_872 })
  grossVolume!: number;

  @ApiProperty({ description: 'Whole cents credited to the author', example: 179_110 })
  royaltiesCredited!: number;

  @ApiProperty({ description: 'Current carry in centi-cents (0..99), not yet a whole cent', example: 40 })
  fractionalBalance!: number;
}

export function toAuthorRankingDto(row: AuthorRanking): AuthorRankingDto {
  return {
    authorWalletId: row.authorWalletId,
    salesCount: row.salesCount,
    grossVolume: row.grossVolumeCents,
    royaltiesCredited: row.royaltyCents,
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
    royaltiesCredited: figures.royaltyCents,
    fractionalBalance: figures.carryCentiCents,
  };
}
