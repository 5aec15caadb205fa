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

export const SHARE_BASIS_POINTS_TOTAL = 10_000;
export const PAYEES_MAX = 10;

/**
 * The co-author split (ADR 0045): `totalCentiCents` (the author side, price * royaltyPercent)
 * divided among payees by basis-point shares. Each payee gets floor(total * share / 10000); the
 * centi-cents those floors leave (fewer than the number of payees) go one each to the payees with
 * the largest remainders, ties to the earlier payee. The SQL function royalty_parts does the same.
 */
export function splitAmongPayees(totalCentiCents: number, sharesBps: readonly number[]): number[] {
  assertInteger('totalCentiCents', totalCentiCents, 0, 100 * 1_000_000_000);
  assertShares(sharesBps);
  const total = BigInt(totalCentiCents);
  const quotas = sharesBps.map((share, position) => {
    const exact = total * BigInt(share);
    return { position, floor: exact / 10_000n, remainder: exact % 10_000n };
  });
  const leftOver = Number(total - quotas.reduce((sum, quota) => sum + quota.floor, 0n));
  const byRemainder = [...quotas].sort((a, b) => (a.remainder === b.remainder ? a.position - b.position : a.remainder > b.remainder ? -1 : 1));
  const parts = quotas.map((quota) => Number(quota.floor));
  for (const quota of byRemainder.slice(0, leftOver)) parts[quota.position]! += 1;
  if (parts.reduce((sum, part) => sum + part, 0) !== totalCentiCents) {
    throw new Error(`payee parts do not add up to the whole: ${JSON.stringify({ totalCentiCents, sharesBps, parts })}`);
  }
  return parts;
}

/** 1 to 10 shares of 1..10000 basis points summing to 10000; throws otherwise. */
export function assertShares(sharesBps: readonly number[]): void {
  if (sharesBps.length < 1 || sharesBps.length > PAYEES_MAX) throw new RangeError(`1 to ${PAYEES_MAX} shares, got ${sharesBps.length}`);
  for (const share of sharesBps) assertInteger('share', share, 1, SHARE_BASIS_POINTS_TOTAL);
  const sum = sharesBps.reduce((total, share) => total + share, 0);
  if (sum !== SHARE_BASIS_POINTS_TOTAL) throw new RangeError(`shares must sum to ${SHARE_BASIS_POINTS_TOTAL}, got ${sum}`);
}

/**
 * What a refund of a split purchase takes from each payee, in centi-cents: the growth of its part
 * when the cumulative refunded amount goes from `refundedBeforeCents` to that plus
 * `refundAmountCents`. The parts of a full refund sum, payee by payee, to what the purchase gave.
 */
export function payeeRefundParts(input: {
  itemPriceCents: number;
  royaltyPercent: number;
  sharesBps: readonly number[];
  refundedBeforeCents: number;
  refundAmountCents: number;
}): number[] {
  const { itemPriceCents, royaltyPercent, sharesBps, refundedBeforeCents, refundAmountCents } = input;
  assertInteger('refundAmountCents', refundAmountCents, 1, itemPriceCents - refundedBeforeCents);
  const before = splitAmongPayees(refundedBeforeCents * royaltyPercent, sharesBps);
  const after = splitAmongPayees((refundedBeforeCents + refundAmountCents) * royaltyPercent, sharesBps);
  return after.map((part, position) => part - before[position]!);
}

/**
 * One payee's side of a movement of `partCentiCents` (positive: credited, as on a purchase;
 * negative: taken back): its position `100 * cents + carry` moves by exactly the part, whole cents
 * move now and the carry stays in 0..99. `cents` is signed like the part.
 */
export function movePayeePosition(partCentiCents: number, carryBeforeCentiCents: number): { cents: number; carryAfterCentiCents: number } {
  assertInteger('carryBeforeCentiCents', carryBeforeCentiCents, 0, CENTI_CENTS_PER_CENT - 1);
  const position = carryBeforeCentiCents + partCentiCents;
  const cents = Math.floor(position / CENTI_CENTS_PER_CENT);
  return { cents, carryAfterCentiCents: position - CENTI_CENTS_PER_CENT * cents };
}
