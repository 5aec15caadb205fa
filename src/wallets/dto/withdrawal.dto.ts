import { ApiProperty } from '@nestjs/swagger';
import { AMOUNT_CENTS_MAX, AMOUNT_CENTS_MIN } from './amount.dto';
import { CENTS, INSTANT, UUID } from '../../common/http/api-schema';
import type { WithdrawalRow } from '../wallets.repository';

export class WithdrawalDto {
  @ApiProperty({ ...UUID, example: 'c0a8012e-7d4b-4e8e-9a51-0f3b2d1e4c55' })
  id!: string;

  @ApiProperty({ ...UUID, example: '3b1f6f0e-8a53-4c55-9d0e-6a4f3f1d2c10' })
  walletId!: string;

  @ApiProperty({ ...CENTS, minimum: AMOUNT_CENTS_MIN, maximum: AMOUNT_CENTS_MAX, description: 'Integer cents', example: 2500 })
  amount!: number;

  @ApiProperty({ ...INSTANT, example: '2026-11-21T10:25:00.000Z' })
  createdAt!: Date;
}

export function toWithdrawalDto(row: WithdrawalRow): WithdrawalDto {
  return { id: row.id, walletId: row.walletId, amount: row.amountCents, createdAt: row.createdAt };
}
