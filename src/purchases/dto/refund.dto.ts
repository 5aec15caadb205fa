import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, Max, MaxLength, Min, ValidateIf } from 'class-validator';
import { CENTS, INSTANT, UUID } from '../../common/http/api-schema';
import type { RefundRow } from '../refunds.repository';

export const REFUND_AMOUNT_CENTS_MIN = 1;
export const REFUND_AMOUNT_CENTS_MAX = 1_000_000_000;
export const REFUND_REASON_LENGTH_MAX = 500;

export class CreateRefundDto {
  @ApiPropertyOptional({
    ...CENTS,
    minimum: REFUND_AMOUNT_CENTS_MIN,
    maximum: REFUND_AMOUNT_CENTS_MAX,
    description: 'Integer cents to give back to the buyer; default: everything not yet refunded',
    example: 99,
  })
  // Absent means everything not yet refunded; null is not absent. A client's NaN or Infinity goes
  // out as null, and must be refused like any other bad amount, not turned into a full refund.
  @ValidateIf((_dto, value) => value !== undefined)
  @IsInt({ message: 'amount must be an integer number of cents' })
  @Min(REFUND_AMOUNT_CENTS_MIN, { message: `amount must be at least ${REFUND_AMOUNT_CENTS_MIN}` })
  @Max(REFUND_AMOUNT_CENTS_MAX, { message: `amount must be at most ${REFUND_AMOUNT_CENTS_MAX}` })
  amount?: number;

  @ApiPropertyOptional({
    type: String,
    maxLength: REFUND_REASON_LENGTH_MAX,
    description: 'Why the money goes back (support ticket, chargeback), kept with the refund',
    example: 'customer_request',
  })
  @IsOptional()
  @IsString({ message: 'reason must be a string' })
  @MaxLength(REFUND_REASON_LENGTH_MAX, { message: `reason must be at most ${REFUND_REASON_LENGTH_MAX} characters` })
  reason?: string;
}

export class RefundDto {
  @ApiProperty({ ...UUID, example: '0c9a4b2e-6f1d-4e8a-b3c7-5d2e1f0a9b84' })
  id!: string;

  @ApiProperty({ ...UUID, example: '5e3c1f7a-2b8d-4a6e-9f10-7c4d3b2a1e09' })
  purchaseId!: string;

  @ApiProperty({
    ...CENTS,
    minimum: REFUND_AMOUNT_CENTS_MIN,
    maximum: REFUND_AMOUNT_CENTS_MAX,
    description: 'Integer cents given back to the buyer',
    example: 99,
  })
  amount!: number;

  @ApiProperty({
    ...CENTS,
    minimum: 0,
    maximum: REFUND_AMOUNT_CENTS_MAX,
    description:
      "Whole cents taken back from the author side: the author's position 100 * balance + fractionalBalance drops by " +
      'exactly amount * royaltyPercent centi-cents (a 99-cent refund at 70% after the sales 69/69/69/70: 6930 ' +
      'centi-cents, 70 cents, the carry going from 20 to 90). Cents the author could not cover become its debt.',
    example: 70,
  })
  authorAmount!: number;

  @ApiProperty({
    ...CENTS,
    minimum: 0,
    maximum: REFUND_AMOUNT_CENTS_MAX,
    description: 'Cents taken back from the platform (amount − authorAmount)',
    example: 29,
  })
  platformAmount!: number;

  @ApiProperty({ type: String, nullable: true, maxLength: REFUND_REASON_LENGTH_MAX, example: 'customer_request' })
  reason!: string | null;

  @ApiProperty({ ...INSTANT, example: '2026-11-21T11:00:00.000Z' })
  createdAt!: Date;
}

export function toRefundDto(row: RefundRow): RefundDto {
  return {
    id: row.id,
    purchaseId: row.purchaseId,
    amount: row.amountCents,
    authorAmount: row.authorAmountCents,
    platformAmount: row.platformAmountCents,
    reason: row.reason,
    createdAt: row.createdAt,
  };
}
