import { ApiProperty } from '@nestjs/swagger';
import { CENTS, COUNT, INSTANT, MESSAGE_LENGTH_MAX, SAFE_INTEGER_MAX, UUID } from '../../common/http/api-schema';
import type { FinancialReportRow, FinancialSnapshot, ReportStatus } from '../reports.repository';
import { PeriodDto } from './period.dto';

/** Optional body of POST /reports/financial: without a period the report is all-time. */
export class CreateFinancialReportDto extends PeriodDto {}

/** A sum of cents over a period or all time. */
const MONEY_TOTAL = { ...CENTS, minimum: 0, maximum: SAFE_INTEGER_MAX } as const;
/** A net sum: refunds in a period can take back more than the period's sales credited. */
const NET_MONEY_TOTAL = { ...CENTS, minimum: -SAFE_INTEGER_MAX, maximum: SAFE_INTEGER_MAX } as const;

export class ReportQueuedDto {
  @ApiProperty({ ...UUID, description: 'The report id; poll GET /reports/financial/{jobId}', example: '0b9f7c52-5d1e-4c1a-9a57-2f3e4d5c6b7a' })
  jobId!: string;

  @ApiProperty({ enum: ['queued'], example: 'queued' })
  status!: 'queued';
}

export class FinancialReportResultDto {
  @ApiProperty({ ...MONEY_TOTAL, description: 'Cents deposited from the funding account', example: 12_500_000 })
  totalDeposited!: number;

  @ApiProperty({ ...MONEY_TOTAL, description: 'Sum of item prices of all purchases, in cents', example: 8_400_350 })
  totalPurchaseVolume!: number;

  @ApiProperty({
    ...NET_MONEY_TOTAL,
    description:
      'Cents credited to authors (including carry swept into whole cents) net of refunds: royalties of the sales minus ' +
      'the royalty cents refunds took back. Negative when a period takes back more than it credits.',
    example: 5_880_240,
  })
  totalRoyaltiesPaid!: number;

  @ApiProperty({
    ...NET_MONEY_TOTAL,
    description: "Cents credited to the platform (volume − royalties) net of the platform's part of refunds",
    example: 2_520_110,
  })
  platformRevenue!: number;

  @ApiProperty({
    ...MONEY_TOTAL,
    description:
      'Cents given back to buyers by refunds (gross: totalPurchaseVolume is not reduced by it; ' +
      'totalRoyaltiesPaid + platformRevenue + totalRefunded = totalPurchaseVolume when every refund is of a sale in the period)',
    example: 99,
  })
  totalRefunded!: number;

  @ApiProperty({ ...COUNT, description: 'Refunds made', example: 1 })
  refundCount!: number;

  @ApiProperty({
    ...MONEY_TOTAL,
    description:
      'Cents wallets owe when the report was generated (refunds their balance could not cover), fronted by the ' +
      'receivables account; a balance at generatedAt, whatever the period',
    example: 0,
  })
  outstandingDebt!: number;

  @ApiProperty({
    ...MONEY_TOTAL,
    description:
      'Cents held by authorized purchases (capture: false) when the report was generated: out of the buyers\' balances, ' +
      'in the holds account until captured, voided or expired; a balance at generatedAt, whatever the period',
    example: 4_500,
  })
  totalHeld!: number;

  @ApiProperty({
    ...NET_MONEY_TOTAL,
    description:
      'Cents that left wallets by withdrawal, pending or paid (a failed payout is subtracted when it fails, so a ' +
      "period's figure may be negative): totalWithdrawn = payoutsPending + payoutsPaid",
    example: 1_200_000,
  })
  totalWithdrawn!: number;

  @ApiProperty({
    ...NET_MONEY_TOTAL,
    description:
      'Cents of payouts waiting for the payment rail: all time, what is pending at generatedAt; for a period, ' +
      'what the period added to the pending payouts (created minus paid minus failed, so it may be negative)',
    example: 150_000,
  })
  payoutsPending!: number;

  @ApiProperty({ ...MONEY_TOTAL, description: 'Cents of payouts the payment rail settled (paid), by settlement time', example: 1_050_000 })
  payoutsPaid!: number;

  @ApiProperty({
    ...MONEY_TOTAL,
    description: 'Cents of payouts that failed and went back to their wallets, by failure time',
    example: 2_500,
  })
  payoutsFailed!: number;

  @ApiProperty({ ...COUNT, example: 4211 })
  purchaseCount!: number;

  @ApiProperty({ ...INSTANT, nullable: true, description: 'Inclusive start; null for an all-time report', example: '2026-10-01T00:00:00.000Z' })
  from!: string | null;

  @ApiProperty({ ...INSTANT, nullable: true, description: 'Exclusive end; null for an all-time report', example: '2026-11-01T00:00:00.000Z' })
  to!: string | null;

  @ApiProperty({ ...INSTANT, description: 'When the figures were read (the snapshot time)', example: '2026-11-21T10:30:02.117Z' })
  generatedAt!: string;
}

export class FinancialReportDto {
  @ApiProperty({ ...UUID, example: '0b9f7c52-5d1e-4c1a-9a57-2f3e4d5c6b7a' })
  jobId!: string;

  @ApiProperty({ enum: ['queued', 'processing', 'completed', 'failed'], example: 'completed' })
  status!: ReportStatus;

  @ApiProperty({ type: FinancialReportResultDto, nullable: true, description: 'Present once completed' })
  result!: FinancialReportResultDto | null;

  @ApiProperty({ type: String, nullable: true, maxLength: MESSAGE_LENGTH_MAX, description: 'Why the report failed', example: null })
  error!: string | null;

  @ApiProperty({ ...INSTANT, example: '2026-11-21T10:30:00.000Z' })
  createdAt!: Date;

  @ApiProperty({ ...INSTANT, nullable: true, example: '2026-11-21T10:30:02.130Z' })
  completedAt!: Date | null;
}

export function toFinancialReportResultDto(
  { figures, outstandingDebtCents, heldCents, generatedAt }: FinancialSnapshot,
  period: { from: Date; to: Date } | null,
): FinancialReportResultDto {
  return {
    totalDeposited: figures.depositedCents,
    totalPurchaseVolume: figures.purchaseVolumeCents,
    totalRoyaltiesPaid: figures.royaltiesCents - figures.royaltiesRefundedCents,
    platformRevenue: figures.platformRevenueCents - figures.platformRevenueRefundedCents,
    totalRefunded: figures.refundedCents,
    refundCount: figures.refundCount,
    outstandingDebt: outstandingDebtCents,
    totalHeld: heldCents,
    totalWithdrawn: figures.withdrawnCents,
    payoutsPending: figures.withdrawnCents - figures.payoutsPaidCents,
    payoutsPaid: figures.payoutsPaidCents,
    payoutsFailed: figures.payoutsFailedCents,
    purchaseCount: figures.purchaseCount,
    from: period ? period.from.toISOString() : null,
    to: period ? period.to.toISOString() : null,
    generatedAt: generatedAt.toISOString(),
  };
}

export function toFinancialReportDto(row: FinancialReportRow): FinancialReportDto {
  return {
    jobId: row.id,
    status: row.status,
    result: isFinancialReportResult(row.result)
      ? { ...FIGURES_BEFORE_REFUNDS, ...figuresBeforePayouts(row.result), ...row.result }
      : null,
    error: row.error,
    createdAt: row.createdAt,
    completedAt: row.completedAt,
  };
}

/** Results stored before refunds existed lack these figures, which were then zero. */
const FIGURES_BEFORE_REFUNDS = { totalRefunded: 0, refundCount: 0, outstandingDebt: 0, totalHeld: 0 };

/** Results stored before payouts had a lifecycle: every withdrawal was paid at once. */
function figuresBeforePayouts(result: FinancialReportResultDto): Pick<FinancialReportResultDto, 'payoutsPending' | 'payoutsPaid' | 'payoutsFailed'> {
  return { payoutsPending: 0, payoutsPaid: result.totalWithdrawn, payoutsFailed: 0 };
}

const RESULT_FIGURES = ['totalDeposited', 'totalPurchaseVolume', 'totalRoyaltiesPaid', 'platformRevenue', 'totalWithdrawn', 'purchaseCount'] as const;

/** A stored result (jsonb), as toFinancialReportResultDto wrote it; anything else reads as none. */
function isFinancialReportResult(value: unknown): value is FinancialReportResultDto {
  if (typeof value !== 'object' || value === null) return false;
  const stored: Partial<Record<string, unknown>> = { ...value };
  return (
    RESULT_FIGURES.every((figure) => typeof stored[figure] === 'number') &&
    typeof stored.generatedAt === 'string' &&
    (stored.from === null || typeof stored.from === 'string') &&
    (stored.to === null || typeof stored.to === 'string')
  );
}
