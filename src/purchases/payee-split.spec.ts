import fc from 'fast-check';
import '../../test/setup/seeded';
import { movePayeePosition, payeeRefundParts, splitAmongPayees } from './royalty-split';

/** Shares of 1 to 10 payees, each at least 1 basis point, summing to 10000. */
const sharesArbitrary = fc
  .integer({ min: 1, max: 10 })
  .chain((count) => fc.uniqueArray(fc.integer({ min: 1, max: 9_999 }), { minLength: count - 1, maxLength: count - 1 }))
  .map((cuts) => {
    const points = [0, ...[...cuts].sort((a, b) => a - b), 10_000];
    return points.slice(1).map((point, i) => point - points[i]!);
  });

describe('splitAmongPayees (largest remainder, ties to the earlier payee)', () => {
  it('splits a 99-cent sale at 70% over 3333/3333/3334 as 2310/2310/2310 centi-cents', () => {
    // 6930 * 3333 / 10000 = 2309.769 twice and 6930 * 3334 / 10000 = 2310.462: the floors 2309/2309/2310
    // leave 2 centi-cents, which go to the two largest remainders (.769, .769).
    expect(splitAmongPayees(6930, [3333, 3333, 3334])).toEqual([2310, 2310, 2310]);
  });

  it('gives the left-over centi-cent to the earlier payee on a tie', () => {
    expect(splitAmongPayees(1, [5000, 5000])).toEqual([1, 0]);
    expect(splitAmongPayees(3, [5000, 5000])).toEqual([2, 1]);
    expect(splitAmongPayees(1, [3333, 3333, 3334])).toEqual([0, 0, 1]);
    expect(splitAmongPayees(2, [3333, 3333, 3334])).toEqual([1, 0, 1]);
  });

  it('refuses shares that are not 1 to 10 values of 1..10000 summing to 10000', () => {
    expect(() => splitAmongPayees(100, [])).toThrow(RangeError);
    expect(() => splitAmongPayees(100, [5000, 4999])).toThrow(RangeError);
    expect(() => splitAmongPayees(100, [10_000, 0])).toThrow(RangeError);
    expect(() => splitAmongPayees(100, Array.from({ length: 11 }, () => 909).concat([1]))).toThrow(RangeError);
    expect(() => splitAmongPayees(-1, [10_000])).toThrow(RangeError);
  });

  it('parts add up to the whole, each within one centi-cent of its exact share', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100_000_000_000 }), sharesArbitrary, (total, shares) => {
        const parts = splitAmongPayees(total, shares);
        expect(parts.reduce((sum, part) => sum + part, 0)).toBe(total);
        parts.forEach((part, i) => {
          const exact = (total * shares[i]!) / 10_000;
          expect(Math.abs(part - exact)).toBeLessThan(1);
        });
      }),
    );
  });

  it('partial refunds of a split sale, in any amounts adding up to the price, take back exactly what each payee got', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 0, max: 100 }),
        sharesArbitrary,
        fc.array(fc.integer({ min: 1, max: 100_000 }), { minLength: 1, maxLength: 8 }),
        (price, percent, shares, cuts) => {
          const given = splitAmongPayees(price * percent, shares);
          const takenBack = shares.map(() => 0);
          let refunded = 0;
          for (const cut of [...cuts, price]) {
            const amount = Math.min(cut, price - refunded);
            if (amount === 0) break;
            payeeRefundParts({ itemPriceCents: price, royaltyPercent: percent, sharesBps: shares, refundedBeforeCents: refunded, refundAmountCents: amount }).forEach(
              (part, i) => (takenBack[i]! += part),
            );
            refunded += amount;
          }
          expect(refunded).toBe(price);
          expect(takenBack).toEqual(given);
        },
      ),
    );
  });

  it("moves a payee's position by exactly the part, whole cents now, the carry in 0..99", () => {
    fc.assert(
      fc.property(fc.integer({ min: -10_000_000, max: 10_000_000 }), fc.integer({ min: 0, max: 99 }), (part, carry) => {
        const { cents, carryAfterCentiCents } = movePayeePosition(part, carry);
        expect(100 * cents + carryAfterCentiCents).toBe(carry + part);
        expect(carryAfterCentiCents).toBeGreaterThanOrEqual(0);
        expect(carryAfterCentiCents).toBeLessThanOrEqual(99);
      }),
    );
  });
});
