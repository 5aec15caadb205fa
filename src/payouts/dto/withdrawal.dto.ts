import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, MaxLength, Min, MinLength } from 'class-validator';
import { CENTS, INSTANT, UUID } from '../../common/http/api-schema';
import { AMOUNT_CENTS_MAX, AMOUNT_CENTS_MIN } from '../../wallets/dto/amount.dto';
import type { WithdrawalRow, WithdrawalStatus } from '../payouts.repository';

export const DESTINATION_LENGTH_MAX = 200;
export const FAILURE_REASON_LENGTH_MAX = 500;
export const WITHDRAWAL_STATUSES = ['pending', 'paid', 'failed'] as const satisfies readonly WithdrawalStatus[];

export const WITHDRAWAL_PAGE_LIMIT_DEFAULT = 50;
export const WITHDRAWAL_PAGE_LIMIT_MAX = 200;
const CURSOR_LENGTH_MAX = 128;
const CURSOR_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/** Destinations are opaque tokens of a payment provider: printable, no surrounding blanks. */
const DESTINATION_PATTERN = /^\S(?:[\x20-\x7e]*\S)?$/;

export class CreateWithdrawalDto {
  @ApiProperty({
    ...CENTS,
    description: 'Integer cents, 1 to 1,000,000,000, at least PAYOUT_MINIMUM_CENTS (a JSON number, never a string)',
    example: 2500,
    minimum: AMOUNT_CENTS_MIN,
    maximum: AMOUNT_CENTS_MAX,
  })
  @IsInt({ message: 'amount must be an integer number of cents' })
  @Min(AMOUNT_CENTS_MIN, { message: `amount must be at least ${AMOUNT_CENTS_MIN}` })
  @Max(AMOUNT_CENTS_MAX, { message: `amount must be at most ${AMOUNT_CENTS_MAX}` })
  amount!: number;

  @ApiPropertyOptional({
    type: String,
    minLength: 1,
    maxLength: DESTINATION_LENGTH_MAX,
    pattern: DESTINATION_PATTERN.source,
    description: "Where the payment rail sends the money, opaque to the service (e.g. a payment provider's account token)",
    example: 'acct_1PqR2sT3uV4wX5yZ',
  })
  @IsOptional()
  @IsString({ message: 'destination must be a string' })
  @MinLength(1, { message: 'destination must not be empty' })
  @MaxLength(DESTINATION_LENGTH_MAX, { message: `destination must be at most ${DESTINATION_LENGTH_MAX} characters` })
  @Matches(DESTINATION_PATTERN, { message: 'destination must be printable ASCII without leading or trailing spaces' })
  destination?: string;
}

export class PayoutDestinationDto {
  @ApiProperty({
    type: String,
    minLength: 1,
    maxLength: DESTINATION_LENGTH_MAX,
    pattern: DESTINATION_PATTERN.source,
    description: "The wallet's default payout destination, opaque to the service; payout runs pay to it",
    example: 'acct_1PqR2sT3uV4wX5yZ',
  })
  @IsString({ message: 'destination must be a string' })
  @MinLength(1, { message: 'destination must not be empty' })
  @MaxLength(DESTINATION_LENGTH_MAX, { message: `destination must be at most ${DESTINATION_LENGTH_MAX} characters` })
  @Matches(DESTINATION_PATTERN, { message: 'destination must be printable ASCII without leading or trailing spaces' })
  destination!: string;
}

export class StoredPayoutDestinationDto extends PayoutDestinationDto {
  @ApiProperty({ ...UUID, example: '3b1f6f0e-8a53-4c55-9d0e-6a4f3f1d2c10' })
  walletId!: string;

  @ApiProperty({ ...INSTANT, example: '2026-11-21T10:20:00.000Z' })
  updatedAt!: Date;
}

export class FailWithdrawalDto {
  @ApiProperty({
    type: String,
    minLength: 1,
    maxLength: FAILURE_REASON_LENGTH_MAX,
    description: 'Why the payment rail refused the payout, kept with it and shown to the wallet owner',
    example: 'account_closed',
  })
  @IsString({ message: 'reason must be a string' })
  @MinLength(1, { message: 'reason must not be empty' })
  @MaxLength(FAILURE_REASON_LENGTH_MAX, { message: `reason must be at most ${FAILURE_REASON_LENGTH_MAX} characters` })
  reason!: string;
}

export class WithdrawalDto {
  @ApiProperty({ ...UUID, example: 'c0a8012e-7d4b-4e8e-9a51-0f3b2d1e4c55' })
  id!: string;

  @ApiProperty({ ...UUID, example: '3b1f6f0e-8a53-4c55-9d0e-6a4f3f1d2c10' })
  walletId!: string;

  @ApiProperty({ ...CENTS, minimum: AMOUNT_CENTS_MIN, maximum: AMOUNT_CENTS_MAX, description: 'Integer cents', example: 2500 })
  amount!: number;

  @ApiProperty({
    enum: WITHDRAWAL_STATUSES,
    description:
      '`pending`: the money has left the balance and waits for the payment rail; `paid`: settled; ' +
      '`failed`: the rail refused it and the money went back to the wallet',
    example: 'pending',
  })
  status!: WithdrawalStatus;

  @ApiProperty({
    type: String,
    nullable: true,
    maxLength: DESTINATION_LENGTH_MAX,
    description: 'Where the payment rail sends the money, as given; null when none was given',
    example: 'acct_1PqR2sT3uV4wX5yZ',
  })
  destination!: string | null;

  @ApiProperty({
    type: String,
    nullable: true,
    maxLength: FAILURE_REASON_LENGTH_MAX,
    description: 'Why the payout failed; null unless `failed`',
    example: null,
  })
  failureReason!: string | null;

  @ApiProperty({ ...INSTANT, example: '2026-11-21T10:25:00.000Z' })
  createdAt!: Date;

  @ApiProperty({ ...INSTANT, nullable: true, description: 'When it was paid or failed; null while pending', example: null })
  resolvedAt!: Date | null;
}

export class WithdrawalListQueryDto {
  @ApiPropertyOptional({ enum: WITHDRAWAL_STATUSES, description: 'Only withdrawals in this state', example: 'pending' })
  @IsOptional()
  @IsIn(WITHDRAWAL_STATUSES, { message: `status must be one of ${WITHDRAWAL_STATUSES.join(', ')}` })
  status?: WithdrawalStatus;

  @ApiPropertyOptional({
    description: `Page size, 1 to ${WITHDRAWAL_PAGE_LIMIT_MAX} (default ${WITHDRAWAL_PAGE_LIMIT_DEFAULT})`,
    type: 'integer',
    format: 'int32',
    minimum: 1,
    maximum: WITHDRAWAL_PAGE_LIMIT_MAX,
    default: WITHDRAWAL_PAGE_LIMIT_DEFAULT,
    example: 50,
  })
  @IsOptional()
  @Matches(/^(?:[1-9]|[1-9]\d|1\d\d|200)$/, { message: `limit must be a whole number from 1 to ${WITHDRAWAL_PAGE_LIMIT_MAX}` })
  limit?: string;

  @ApiPropertyOptional({
    description: 'The nextCursor of the previous page',
    pattern: CURSOR_PATTERN.source,
    maxLength: CURSOR_LENGTH_MAX,
    example: 'MjAyNi0xMS0yMVQxMDoyNTowMC4wMDBafGMwYTg',
  })
  @IsOptional()
  @Matches(CURSOR_PATTERN, { message: 'cursor must be a nextCursor returned by this endpoint' })
  cursor?: string;
}

export class WithdrawalPageDto {
  @ApiProperty({ type: [WithdrawalDto], maxItems: WITHDRAWAL_PAGE_LIMIT_MAX })
  items!: WithdrawalDto[];

  @ApiProperty({
    type: String,
    nullable: true,
    pattern: CURSOR_PATTERN.source,
    maxLength: CURSOR_LENGTH_MAX,
    description: 'null on the last page',
    example: null,
  })
  nextCursor!: string | null;
}

export function toWithdrawalDto(row: Omit<WithdrawalRow, 'userId'>): WithdrawalDto {
  return {
    id: row.id,
    walletId: row.walletId,
    amount: row.amountCents,
    status: row.status,
    destination: row.destination,
    failureReason: row.failureReason,
    createdAt: row.createdAt,
    resolvedAt: row.resolvedAt,
  };
}
