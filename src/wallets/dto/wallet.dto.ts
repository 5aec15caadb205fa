import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { CENTS, INSTANT, SAFE_INTEGER_MAX, UUID } from '../../common/http/api-schema';
import type { WalletRow } from '../wallets.repository';

export class WalletDto {
  @ApiProperty({ ...UUID, example: '3b1f6f0e-8a53-4c55-9d0e-6a4f3f1d2c10' })
  id!: string;

  @ApiProperty({ ...UUID, example: '9d2b2b8e-1f4a-4f7e-8c43-2a8f5d6e7b01' })
  userId!: string;

  @ApiProperty({ ...CENTS, minimum: 0, maximum: SAFE_INTEGER_MAX, description: 'Balance in integer cents', example: 12500 })
  balance!: number;

  @ApiProperty({
    description: 'Royalty carry in centi-cents (1/100 cent), 0..99; swept into balance at 100',
    type: 'integer',
    format: 'int32',
    example: 20,
    minimum: 0,
    maximum: 99,
  })
  fractionalBalance!: number;

  @ApiProperty({
    ...CENTS,
    minimum: 0,
    maximum: SAFE_INTEGER_MAX,
    description:
      'Integer cents a refund took back that this wallet could not cover (it had already withdrawn them). ' +
      'Later credits (royalties, deposits, refunds) repay it before they reach `balance`; withdrawals and ' +
      'purchases see only `balance`.',
    example: 0,
  })
  debt!: number;

  @ApiPropertyOptional({
    ...CENTS,
    minimum: 0,
    maximum: SAFE_INTEGER_MAX,
    description:
      'Integer cents of this wallet\'s authorized purchases (holds, `capture: false`): already out of `balance`, back in it ' +
      'if a hold is voided or expires. Present when the wallet is read (`GET`/`POST /wallets`); deposit answers leave it out',
    example: 0,
  })
  heldBalance?: number;

  @ApiProperty({ ...INSTANT, example: '2026-11-21T10:15:30.123Z' })
  createdAt!: Date;

  @ApiProperty({ ...INSTANT, example: '2026-11-21T10:20:00.456Z' })
  updatedAt!: Date;
}

export function toWalletDto(row: WalletRow): WalletDto {
  return {
    id: row.id,
    userId: row.userId,
    balance: row.balanceCents,
    fractionalBalance: row.carryCentiCents,
    debt: row.debtCents,
    ...(row.heldCents === undefined ? {} : { heldBalance: row.heldCents }),
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
