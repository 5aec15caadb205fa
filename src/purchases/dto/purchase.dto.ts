import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsInt, IsOptional, IsUUID, Matches, Max, Min, ValidateBy, ValidateIf } from 'class-validator';
import { CENTS, INSTANT, INT32_MAX, UUID } from '../../common/http/api-schema';
import { IDEMPOTENCY_KEY_SCHEMA } from '../../common/http/idempotency-key.decorator';
import type { PurchaseRow } from '../purchases.repository';
import type { RefundRow } from '../refunds.repository';
import { RefundDto, toRefundDto } from './refund.dto';
import { PAYEES_MAX } from '../royalty-split';

export const ITEM_PRICE_CENTS_MIN = 1;
export const ITEM_PRICE_CENTS_MAX = 1_000_000_000;
// authorized / voided / expired: a hold (ADR 0018); a captured hold is a purchase like any other.
export const PURCHASE_STATUSES = ['completed', 'partially_refunded', 'refunded', 'authorized', 'voided', 'expired'] as const;
export type PurchaseStatus = (typeof PURCHASE_STATUSES)[number];
/** What was bought: the caller's own catalogue id (the contract's limits). */
export const ITEM_ID_PATTERN = /^[A-Za-z0-9_.:/-]{1,200}$/;
export const ITEM_ID_LENGTH_MAX = 200;
export const METADATA_ENTRIES_MAX = 20;
export const METADATA_KEY_LENGTH_MAX = 40;
export const METADATA_VALUE_LENGTH_MAX = 500;
/** A purchase lists at most this many of its refunds (the oldest); refundedAmount always counts all. */
export const PURCHASE_REFUNDS_LISTED_MAX = 100;

const ITEM_ID_SCHEMA = {
  type: String,
  pattern: ITEM_ID_PATTERN.source,
  minLength: 1,
  maxLength: ITEM_ID_LENGTH_MAX,
  description: 'What was bought: your catalogue id (1 to 200 characters of `A-Z a-z 0-9 _ . : / -`); searchable',
  example: 'ebook:978-0-13-468599-1',
} as const;

const METADATA_SCHEMA = {
  type: 'object',
  maxProperties: METADATA_ENTRIES_MAX,
  additionalProperties: { type: 'string', maxLength: METADATA_VALUE_LENGTH_MAX },
  description:
    `Your notes on the sale, kept with it: at most ${METADATA_ENTRIES_MAX} string values, keys of 1 to ` +
    `${METADATA_KEY_LENGTH_MAX} characters, values of at most ${METADATA_VALUE_LENGTH_MAX}`,
  example: { orderId: 'A-1042', channel: 'web' },
} as const;

/** The contract's metadata: a plain object of at most 20 string values with bounded keys and values. */
export function isPurchaseMetadata(value: unknown): value is Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const entries = Object.entries(value);
  return (
    entries.length <= METADATA_ENTRIES_MAX &&
    entries.every(
      ([key, entry]) =>
        key.length >= 1 &&
        key.length <= METADATA_KEY_LENGTH_MAX &&
        typeof entry === 'string' &&
        entry.length <= METADATA_VALUE_LENGTH_MAX,
    )
  );
}

export class CreatePurchaseDto {
  @ApiProperty({ ...UUID, description: "The buyer's wallet; must be the caller's", example: '3b1f6f0e-8a53-4c55-9d0e-6a4f3f1d2c10' })
  @IsUUID('all', { message: 'buyerWalletId must be a UUID' })
  buyerWalletId!: string;

  @ApiPropertyOptional({
    ...UUID,
    description:
      "The item author's wallet. Required unless `itemId` has royalty terms (which name the payees); then, when given, it must be one of them",
    example: '8e7d6c5b-4a39-4281-9f0e-d1c2b3a49586',
  })
  // Checked here when present; whether it may be absent depends on the item's terms (the database decides).
  @ValidateIf((dto: CreatePurchaseDto, value) => value !== undefined || dto.itemId === undefined)
  @IsUUID('all', { message: 'authorWalletId must be a UUID' })
  authorWalletId?: string;

  @ApiProperty({ ...CENTS, description: 'Integer cents, 1 to 1,000,000,000', example: 1999, minimum: ITEM_PRICE_CENTS_MIN, maximum: ITEM_PRICE_CENTS_MAX })
  @IsInt({ message: 'itemPrice must be an integer number of cents' })
  @Min(ITEM_PRICE_CENTS_MIN, { message: `itemPrice must be at least ${ITEM_PRICE_CENTS_MIN}` })
  @Max(ITEM_PRICE_CENTS_MAX, { message: `itemPrice must be at most ${ITEM_PRICE_CENTS_MAX}` })
  itemPrice!: number;

  @ApiPropertyOptional(ITEM_ID_SCHEMA)
  @IsOptional()
  @Matches(ITEM_ID_PATTERN, { message: 'itemId must be 1 to 200 characters of A-Z a-z 0-9 _ . : / -' })
  itemId?: string;

  @ApiPropertyOptional(METADATA_SCHEMA)
  @IsOptional()
  @ValidateBy({
    name: 'isPurchaseMetadata',
    validator: {
      validate: isPurchaseMetadata,
      defaultMessage: () =>
        `metadata must be an object of at most ${METADATA_ENTRIES_MAX} string values, keys of 1 to ` +
        `${METADATA_KEY_LENGTH_MAX} characters, values of at most ${METADATA_VALUE_LENGTH_MAX}`,
    },
  })
  metadata?: Record<string, string>;

  @ApiPropertyOptional({
    type: Boolean,
    description:
      'Default `true`. `false` authorizes the purchase instead (a hold, ADR 0018): the price leaves the buyer\'s balance now and waits, ' +
      'and the split happens at `POST /purchases/{id}/capture`; a hold not captured by `expiresAt` (HOLD_TTL) is voided. ' +
      'A hold names its `authorWalletId`.',
    example: true,
  })
  @IsOptional()
  @IsBoolean({ message: 'capture must be true or false' })
  capture?: boolean;
}

/** `POST /purchases/{id}/capture`: all of the hold, or a smaller amount (the rest goes back). */
export class CapturePurchaseDto {
  @ApiPropertyOptional({
    ...CENTS,
    minimum: ITEM_PRICE_CENTS_MIN,
    maximum: ITEM_PRICE_CENTS_MAX,
    description: 'Integer cents to capture, at most the authorized itemPrice; default: all of it',
    example: 1999,
  })
  @ValidateIf((_dto, value) => value !== undefined)
  @IsInt({ message: 'amount must be an integer number of cents' })
  @Min(ITEM_PRICE_CENTS_MIN, { message: `amount must be at least ${ITEM_PRICE_CENTS_MIN}` })
  @Max(ITEM_PRICE_CENTS_MAX, { message: `amount must be at most ${ITEM_PRICE_CENTS_MAX}` })
  amount?: number;
}

export class PayeeAmountDto {
  @ApiProperty({ ...UUID, example: '8e7d6c5b-4a39-4281-9f0e-d1c2b3a49586' })
  walletId!: string;

  @ApiProperty({
    ...CENTS,
    minimum: 0,
    maximum: ITEM_PRICE_CENTS_MAX,
    description: 'Whole cents credited to this wallet by the purchase, including cents swept from its carry',
    example: 23,
  })
  amount!: number;
}

export class PurchaseDto {
  @ApiProperty({ ...UUID, example: '5e3c1f7a-2b8d-4a6e-9f10-7c4d3b2a1e09' })
  id!: string;

  @ApiProperty({ ...IDEMPOTENCY_KEY_SCHEMA, description: 'The Idempotency-Key this purchase was made with', example: '7d0e2f9c-4b1a-4f3e-9c2d-1a2b3c4d5e6f' })
  idempotencyKey!: string;

  @ApiProperty({ ...UUID, example: '3b1f6f0e-8a53-4c55-9d0e-6a4f3f1d2c10' })
  buyerWalletId!: string;

  @ApiProperty({
    ...UUID,
    description: "The author's wallet; for a purchase split by royalty terms, the terms' first payee",
    example: '8e7d6c5b-4a39-4281-9f0e-d1c2b3a49586',
  })
  authorWalletId!: string;

  @ApiProperty({ ...CENTS, minimum: ITEM_PRICE_CENTS_MIN, maximum: ITEM_PRICE_CENTS_MAX, description: 'Integer cents', example: 1999 })
  itemPrice!: number;

  @ApiProperty({
    ...CENTS,
    minimum: 0,
    maximum: ITEM_PRICE_CENTS_MAX + PAYEES_MAX - 1,
    nullable: true,
    description:
      'Cents credited to the author now (to all payees, for a split purchase), including any swept carry; null for a hold, ' +
      'whose split happens at capture',
    example: 1399,
  })
  authorAmount!: number | null;

  @ApiProperty({
    ...CENTS,
    minimum: -(PAYEES_MAX - 1),
    maximum: ITEM_PRICE_CENTS_MAX,
    description:
      'Cents credited to the platform (itemPrice − authorAmount). Never negative for a one-author purchase; a split ' +
      "purchase whose payees' carries all sweep at once may credit them up to payees − 1 cents more than the price, " +
      'which the platform then pays (ADR 0045); null for a hold',
    nullable: true,
    example: 600,
  })
  platformAmount!: number | null;

  @ApiProperty({
    enum: PURCHASE_STATUSES,
    description:
      '`completed` until a refund; `partially_refunded` while refundedAmount < itemPrice; then `refunded`. A hold ' +
      '(`capture: false`) is `authorized` until it is captured (then a purchase: `completed`), `voided`, or `expired`',
    example: 'completed',
  })
  status!: PurchaseStatus;

  @ApiProperty({
    ...CENTS,
    minimum: 0,
    maximum: ITEM_PRICE_CENTS_MAX,
    description: 'Integer cents refunded so far (never more than itemPrice)',
    example: 0,
  })
  refundedAmount!: number;

  @ApiProperty({
    type: [RefundDto],
    maxItems: PURCHASE_REFUNDS_LISTED_MAX,
    description: `The refunds of this purchase, oldest first (at most ${PURCHASE_REFUNDS_LISTED_MAX}; refundedAmount counts all)`,
  })
  refunds!: RefundDto[];

  @ApiProperty({ ...ITEM_ID_SCHEMA, nullable: true, description: 'What was bought, as the purchase named it; null when it named nothing' })
  itemId!: string | null;

  @ApiProperty({ ...METADATA_SCHEMA, nullable: true, description: 'The notes the purchase was made with; null when it had none' })
  metadata!: Record<string, string> | null;

  @ApiProperty({
    type: 'integer',
    format: 'int32',
    minimum: 1,
    maximum: INT32_MAX,
    nullable: true,
    description: 'The version of the royalty terms of itemId this purchase was split by; null for a one-author purchase',
    example: null,
  })
  royaltyTermsVersion!: number | null;

  @ApiProperty({
    type: [PayeeAmountDto],
    minItems: 0,
    maxItems: PAYEES_MAX,
    description:
      'Who was credited what, in whole cents (their sum is authorAmount): the author alone, or each payee of the terms in ' +
      "their order. Each payee's exact part is its share (largest remainder, ties to the earlier payee) of itemPrice * " +
      'royaltyPercent centi-cents, added to its own carry: a 99-cent sale at 70% over 3333/3333/3334 gives 6930 centi-cents ' +
      'as 2310/2310/2310, so payees with empty carries get 23 cents each and keep 10 centi-cents each. Empty for a hold',
    example: [{ walletId: '8e7d6c5b-4a39-4281-9f0e-d1c2b3a49586', amount: 1399 }],
  })
  payees!: PayeeAmountDto[];

  @ApiPropertyOptional({ ...INSTANT, description: 'A hold only: when it is voided unless captured before', example: '2026-11-28T10:30:00.000Z' })
  expiresAt?: string;

  @ApiProperty({ ...INSTANT, example: '2026-11-21T10:30:00.000Z' })
  createdAt!: Date;
}

/** A hold as the API shows it: a purchase whose split has not happened (hold_json's shape). */
export function toHoldPurchaseDto(hold: {
  id: string;
  idempotencyKey: string;
  buyerWalletId: string;
  authorWalletId: string;
  itemPrice: number;
  status: 'authorized' | 'captured' | 'voided' | 'expired';
  expiresAt: string;
  itemId: string | null;
  metadata: Record<string, string> | null;
  royaltyTermsVersion: number | null;
  createdAt: string;
}): PurchaseDto {
  return {
    id: hold.id,
    idempotencyKey: hold.idempotencyKey,
    buyerWalletId: hold.buyerWalletId,
    authorWalletId: hold.authorWalletId,
    itemPrice: hold.itemPrice,
    authorAmount: null,
    platformAmount: null,
    // A captured hold is read as its purchase; this covers the moment in between.
    status: hold.status === 'captured' ? 'completed' : hold.status,
    refundedAmount: 0,
    refunds: [],
    itemId: hold.itemId,
    metadata: hold.metadata,
    // The terms the capture will split by, recorded at authorization.
    royaltyTermsVersion: hold.royaltyTermsVersion,
    payees: [],
    expiresAt: hold.expiresAt,
    createdAt: new Date(hold.createdAt),
  };
}

/** The purchase as the API shows it; `refunds` are the purchase's refunds so far (none for a new one). */
export function toPurchaseDto(row: PurchaseRow, refunds: RefundRow[] = [], refundedAmount = 0): PurchaseDto {
  const status: PurchaseStatus =
    refundedAmount === 0 ? 'completed' : refundedAmount < row.itemPriceCents ? 'partially_refunded' : 'refunded';
  return {
    id: row.id,
    idempotencyKey: row.idempotencyKey,
    buyerWalletId: row.buyerWalletId,
    authorWalletId: row.authorWalletId,
    itemPrice: row.itemPriceCents,
    authorAmount: row.authorAmountCents,
    platformAmount: row.platformAmountCents,
    status,
    refundedAmount,
    refunds: refunds.slice(0, PURCHASE_REFUNDS_LISTED_MAX).map(toRefundDto),
    itemId: row.itemId,
    metadata: row.metadata,
    royaltyTermsVersion: row.royaltyTermsVersion,
    payees: row.payees.map((payee) => ({ walletId: payee.walletId, amount: payee.amountCents })),
    createdAt: row.createdAt,
  };
}
