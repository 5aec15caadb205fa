import { ApiProperty } from '@nestjs/swagger';
import { CENTS, COUNT, INSTANT, SAFE_INTEGER_MAX, UUID } from '../../common/http/api-schema';
import type { PayoutRunRow } from '../payouts.repository';

export class PayoutRunDto {
  @ApiProperty({ ...UUID, example: '7d1e2f3a-4b5c-4d6e-8f70-1a2b3c4d5e6f' })
  id!: string;

  @ApiProperty({ ...CENTS, minimum: 1, maximum: SAFE_INTEGER_MAX, description: 'PAYOUT_MINIMUM_CENTS when the run started', example: 1000 })
  minimum!: number;

  @ApiProperty({ ...COUNT, description: 'Pending payouts the run created (one per wallet at most)', example: 42 })
  payoutCount!: number;

  @ApiProperty({ ...CENTS, minimum: 0, maximum: SAFE_INTEGER_MAX, description: 'Cents of those payouts', example: 1_250_000 })
  totalAmount!: number;

  @ApiProperty({ ...INSTANT, example: '2026-11-21T11:00:00.000Z' })
  createdAt!: Date;

  @ApiProperty({ ...INSTANT, example: '2026-11-21T11:00:01.250Z' })
  completedAt!: Date;
}

export function toPayoutRunDto(row: PayoutRunRow & { completedAt: Date }): PayoutRunDto {
  return {
    id: row.id,
    minimum: row.minimumCents,
    payoutCount: row.payoutCount,
    totalAmount: row.totalCents,
    createdAt: row.createdAt,
    completedAt: row.completedAt,
  };
}
