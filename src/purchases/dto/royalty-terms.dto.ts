import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsInt, IsOptional, IsUUID, Max, Min, ValidateNested } from 'class-validator';
import { INSTANT, INT32_MAX, UUID } from '../../common/http/api-schema';
import { PAYEES_MAX, SHARE_BASIS_POINTS_TOTAL } from '../royalty-split';
import type { RoyaltyTermsRow } from '../royalty-terms.repository';
import { ITEM_ID_LENGTH_MAX, ITEM_ID_PATTERN } from './purchase.dto';

export class PayeeShareDto {
  @ApiProperty({ ...UUID, description: 'The payee wallet', example: '8e7d6c5b-4a39-4281-9f0e-d1c2b3a49586' })
  @IsUUID('all', { message: 'walletId must be a UUID' })
  walletId!: string;

  @ApiProperty({
    type: 'integer',
    format: 'int32',
    minimum: 1,
    maximum: SHARE_BASIS_POINTS_TOTAL,
    description: 'Basis points of the author side (the shares of all payees sum to 10000)',
    example: 3333,
  })
  @IsInt({ message: 'share must be an integer number of basis points' })
  @Min(1, { message: 'share must be at least 1' })
  @Max(SHARE_BASIS_POINTS_TOTAL, { message: `share must be at most ${SHARE_BASIS_POINTS_TOTAL}` })
  share!: number;
}

const THREE_PAYEES = [
  { walletId: '8e7d6c5b-4a39-4281-9f0e-d1c2b3a49586', share: 3333 },
  { walletId: '1f2e3d4c-5b6a-4798-8877-665544332211', share: 3333 },
  { walletId: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d', share: 3334 },
];

export class PutRoyaltyTermsDto {
  @ApiPropertyOptional({
    type: 'integer',
    format: 'int32',
    minimum: 0,
    maximum: 100,
    description: "Whole percent of the price that goes to the payees; default: the service's AUTHOR_ROYALTY_PERCENT",
    example: 70,
  })
  @IsOptional()
  @IsInt({ message: 'royaltyPercent must be an integer' })
  @Min(0, { message: 'royaltyPercent must be at least 0' })
  @Max(100, { message: 'royaltyPercent must be at most 100' })
  royaltyPercent?: number;

  @ApiProperty({
    type: [PayeeShareDto],
    minItems: 1,
    maxItems: PAYEES_MAX,
    description: `1 to ${PAYEES_MAX} distinct payee wallets with shares summing to ${SHARE_BASIS_POINTS_TOTAL}; the first is the purchase's authorWalletId`,
    example: THREE_PAYEES,
  })
  @IsArray({ message: 'payees must be an array' })
  @ArrayMinSize(1, { message: 'payees must name at least one payee' })
  @ArrayMaxSize(PAYEES_MAX, { message: `payees must name at most ${PAYEES_MAX} payees` })
  @ValidateNested({ each: true })
  @Type(() => PayeeShareDto)
  payees!: PayeeShareDto[];
}

export class RoyaltyTermsDto {
  @ApiProperty({ type: String, pattern: ITEM_ID_PATTERN.source, minLength: 1, maxLength: ITEM_ID_LENGTH_MAX, example: 'ebook:978-0-13-468599-1' })
  itemId!: string;

  @ApiProperty({
    type: 'integer',
    format: 'int32',
    minimum: 1,
    maximum: INT32_MAX,
    description: 'Each change adds a version; purchases record the one they used',
    example: 1,
  })
  version!: number;

  @ApiProperty({ type: 'integer', format: 'int32', minimum: 0, maximum: 100, example: 70 })
  royaltyPercent!: number;

  @ApiProperty({ type: [PayeeShareDto], minItems: 1, maxItems: PAYEES_MAX, example: THREE_PAYEES })
  payees!: PayeeShareDto[];

  @ApiProperty({ ...INSTANT, description: 'When this version came into force', example: '2026-11-21T10:00:00.000Z' })
  createdAt!: Date;
}

export function toRoyaltyTermsDto(row: RoyaltyTermsRow): RoyaltyTermsDto {
  return {
    itemId: row.itemId,
    version: row.version,
    royaltyPercent: row.royaltyPercent,
    payees: row.payeeWalletIds.map((walletId, i) => ({ walletId, share: row.payeeSharesBps[i]! })),
    createdAt: row.createdAt,
  };
}
