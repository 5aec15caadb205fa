/**
 * The royalty split of one purchase, in integer arithmetic only. The author's exact share is
 * `price * percent` centi-cents (1/100 cent); whole cents of it plus the author's carry are paid
 * now and the rest (0..99 centi-cents) stays as the new carry. The platform gets what the
 * author does not. The SQL function purchase_execute_batch does the same arithmetic under the
 * lock on the author's wallet; the service checks every result against this function.
 */
export interface RoyaltySplitInput {
  itemPriceCents: number;
  royaltyPercent: number;
  carryBeforeCentiCents: number;
}

export interface RoyaltySplit {
  authorAmountCents: number;
  platformAmountCents: number;
  carryAfterCentiCents: number;
}

export const CENTI_CENTS_PER_CENT = 100;

export function splitRoyalty({ itemPriceCents, royaltyPercent, carryBeforeCentiCents }: RoyaltySplitInput): RoyaltySplit {
  assertInteger('itemPriceCents', itemPriceCents, 1, 1_000_000_000);
  assertInteger('royaltyPercent', royaltyPercent, 0, 100);
  assertInteger('carryBeforeCentiCents', carryBeforeCentiCents, 0, CENTI_CENTS_PER_CENT - 1);

  const owedCentiCents = itemPriceCents * royaltyPercent + carryBeforeCentiCents;
  const authorAmountCents = Math.floor(owedCentiCents / CENTI_CENTS_PER_CENT);
  const carryAfterCentiCents = owedCentiCents % CENTI_CENTS_PER_CENT;
  const platformAmountCents = itemPriceCents - authorAmountCents;

  const split = { authorAmountCents, platformAmountCents, carryAfterCentiCents };
  assertSplitInvariants({ itemPriceCents, royaltyPercent, carryBeforeCentiCents }, split);
  return split;
}

/** The two identities every purchase must satisfy; throws if one does not hold. */
export function assertSplitInvariants(input: RoyaltySplitInput, split: RoyaltySplit): void {
  if (split.authorAmountCents + split.platformAmountCents !== input.itemPriceCents) {
    throw new Error(`royalty split does not sum to the price: ${JSON.stringify({ input, split })}`);
  }
  if (
    CENTI_CENTS_PER_CENT * split.authorAmountCents + split.carryAfterCentiCents !==
    input.itemPriceCents * input.royaltyPercent + input.carryBeforeCentiCents
  ) {
    throw new Error(`royalty carry identity broken: ${JSON.stringify({ input, split })}`);
  }
  if (split.platformAmountCents < 0 || split.carryAfterCentiCents < 0 || split.carryAfterCentiCents > 99) {
    throw new Error(`royalty split out of range: ${JSON.stringify({ input, split })}`);
  }
}

function assertInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
}

export interface RefundSplitInput {
  refundAmountCents: number;
  royaltyPercent: number;
  carryBeforeCentiCents: number;
}

export interface RefundSplit {
  /** Whole cents the author side gives up (some may become debt); never negative. */
  authorAmountCents: number;
  platformAmountCents: number;
  carryAfterCentiCents: number;
}

/**
 * What a refund takes back (ADR 0017). The author's position `100 * cents + carry` drops by exactly
 * `refundAmountCents * royaltyPercent` centi-cents: first out of the carry, then in whole cents
 * rounded up, so the new carry stays in 0..99. The platform gives up the rest of the refund. The SQL
 * function refund_execute does the same arithmetic under the author's lock.
 */
export function splitRefund({ refundAmountCents, royaltyPercent, carryBeforeCentiCents }: RefundSplitInput): RefundSplit {
  assertInteger('refundAmountCents', refundAmountCents, 1, 1_000_000_000);
  assertInteger('royaltyPercent', royaltyPercent, 0, 100);
  assertInteger('carryBeforeCentiCents', carryBeforeCentiCents, 0, CENTI_CENTS_PER_CENT - 1);

  const beyondCarryCentiCents = refundAmountCents * royaltyPercent - carryBeforeCentiCents;
  const authorAmountCents = beyondCarryCentiCents <= 0 ? 0 : Math.ceil(beyondCarryCentiCents / CENTI_CENTS_PER_CENT);
  const carryAfterCentiCents = CENTI_CENTS_PER_CENT * authorAmountCents - beyondCarryCentiCents;
  const split = { authorAmountCents, platformAmountCents: refundAmountCents - authorAmountCents, carryAfterCentiCents };
  assertRefundInvariants({ refundAmountCents, royaltyPercent, carryBeforeCentiCents }, split);
  return split;
}

/** The identities every refund must satisfy; throws if one does not hold. */
export function assertRefundInvariants(input: RefundSplitInput, split: RefundSplit): void {
  if (split.authorAmountCents + split.platformAmountCents !== input.refundAmountCents) {
    throw new Error(`refund split does not sum to the amount: ${JSON.stringify({ input, split })}`);
  }
  if (
    CENTI_CENTS_PER_CENT * split.authorAmountCents + input.carryBeforeCentiCents !==
    input.refundAmountCents * input.royaltyPercent + split.carryAfterCentiCents
  ) {
    throw new Error(`refund carry identity broken: ${JSON.stringify({ input, split })}`);
  }
  if (
    split.authorAmountCents < 0 ||
    split.platformAmountCents < 0 ||
    split.carryAfterCentiCents < 0 ||
    split.carryAfterCentiCents > 99
  ) {
    throw new Error(`refund split out of range: ${JSON.stringify({ input, split })}`);
  }
}
