import { ApiProperty } from '@nestjs/swagger';
import { COUNT, INSTANT, MESSAGE_LENGTH_MAX, SAFE_INTEGER_MAX, UUID } from '../../common/http/api-schema';
import { CHECK_NAMES, RunRow } from '../reconciliation.types';

/** Drifts a run stores (DRIFT_DETAILS_MAX of the service; driftCount stays exact beyond it). */
const STORED_DRIFTS_MAX = 500;
/** The keys of one drift or of `checked`: a handful of named figures. */
const FIGURES_MAX = 20;
/** A figure that drifted: signed, because a balance or a total can drift either way. */
const FIGURE = { type: 'integer', format: 'int64', minimum: -SAFE_INTEGER_MAX, maximum: SAFE_INTEGER_MAX } as const;

export class ReconciliationQueuedDto {
  @ApiProperty({
    description: 'The run to poll; a run already queued or running is returned instead of a new one',
    ...UUID,
    example: '5b0f3c1e-8d2a-4f6b-9c3e-2a1d4b5c6e7f',
  })
  runId!: string;

  @ApiProperty({ enum: ['queued', 'running'], example: 'queued' })
  status!: 'queued' | 'running';
}

export class ReconciliationDriftDto {
  @ApiProperty({ enum: CHECK_NAMES, example: 'wallet_balances' })
  check!: string;

  @ApiProperty({
    description: 'Which row or group drifted',
    type: 'object',
    additionalProperties: { type: 'string', maxLength: 100 },
    maxProperties: FIGURES_MAX,
    example: { walletId: '9a4b2c1d-3e5f-4a6b-8c7d-1e2f3a4b5c6d' },
  })
  key!: Record<string, string>;

  @ApiProperty({
    description: 'What the service kept (cents, counts or centi-cents)',
    type: 'object',
    additionalProperties: FIGURE,
    maxProperties: FIGURES_MAX,
    example: { balance: 10_500 },
  })
  before!: Record<string, number>;

  @ApiProperty({
    description: 'What the ledger says it should be',
    type: 'object',
    additionalProperties: FIGURE,
    maxProperties: FIGURES_MAX,
    example: { balance: 10_000 },
  })
  expected!: Record<string, number>;

  @ApiProperty({ description: 'Whether the run wrote the expected values back', example: false })
  corrected!: boolean;
}

export class ReconciliationRunDto {
  @ApiProperty({ ...UUID, example: '5b0f3c1e-8d2a-4f6b-9c3e-2a1d4b5c6e7f' })
  runId!: string;

  @ApiProperty({ enum: ['schedule', 'manual'], example: 'manual' })
  trigger!: string;

  @ApiProperty({ enum: ['queued', 'running', 'completed', 'failed'], example: 'completed' })
  status!: string;

  @ApiProperty({
    description: 'Whether wallet balances and carries that disagree with the ledger are rewritten',
    example: false,
  })
  fixBalances!: boolean;

  @ApiProperty({
    description: 'How much each check looked at',
    type: 'object',
    additionalProperties: COUNT,
    maxProperties: FIGURES_MAX,
    nullable: true,
    example: { ledgerEntries: 120_000, wallets: 4_000, purchases: 40_000, hourlyBuckets: 720 },
  })
  checked!: Record<string, number> | null;

  @ApiProperty({ description: 'Every drift found (up to 500 stored; driftCount is exact)', type: [ReconciliationDriftDto], maxItems: STORED_DRIFTS_MAX })
  drifts!: ReconciliationDriftDto[];

  @ApiProperty({ ...COUNT, example: 1 })
  driftCount!: number;

  @ApiProperty({ ...COUNT, description: 'How many of the drifts were corrected', example: 0 })
  correctedCount!: number;

  @ApiProperty({ type: String, nullable: true, maxLength: MESSAGE_LENGTH_MAX, description: 'Why the run failed', example: null })
  error!: string | null;

  @ApiProperty({ ...INSTANT, example: '2026-03-01T10:00:00.000Z' })
  createdAt!: string;

  @ApiProperty({ ...INSTANT, nullable: true, example: '2026-03-01T10:00:00.120Z' })
  startedAt!: string | null;

  @ApiProperty({ ...INSTANT, nullable: true, example: '2026-03-01T10:00:02.480Z' })
  finishedAt!: string | null;
}

export function toReconciliationRunDto(run: RunRow): ReconciliationRunDto {
  return {
    runId: run.id,
    trigger: run.trigger,
    status: run.status,
    fixBalances: run.fixBalances,
    checked: run.checked,
    drifts: run.drifts.map((drift) => ({
      check: drift.check,
      key: drift.key,
      before: drift.before,
      expected: drift.expected,
      corrected: drift.corrected,
    })),
    driftCount: run.driftCount,
    correctedCount: run.correctedCount,
    error: run.error,
    createdAt: run.createdAt.toISOString(),
    startedAt: run.startedAt?.toISOString() ?? null,
    finishedAt: run.finishedAt?.toISOString() ?? null,
  };
}
