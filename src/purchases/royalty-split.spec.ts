import fc from 'fast-check';
import '../../test/setup/seeded';
import { splitRefund, splitRoyalty } from './royalty-split';

describe('splitRoyalty', () => {
  it('pays the author 70% of 99 cents four times as 69, 69, 69, 70 (carry 30, 60, 90, 20)', () => {
    let carry = 0;
    const seen: Array<[number, number, number]> = [];
    for (let i = 0; i < 4; i++) {
      const split = splitRoyalty({ itemPriceCents: 99, royaltyPercent: 70, carryBeforeCentiCents: carry });
      seen.push([split.authorAmountCents, split.platformAmountCents, split.carryAfterCentiCents]);
      carry = split.carryAfterCentiCents;
    }
    expect(seen).toEqual([
      [69, 30, 30],
      [69, 30, 60],
      [69, 30, 90],
      [70, 29, 20],
    ]);
  });

  // Every carry 0..99 against prices whose share leaves every remainder 0..99 (a 33% royalty
  // makes 33 * p mod 100 run through all of them), checked against long division by hand.
  const carries = Array.from({ length: 100 }, (_, carry) => carry);
  it.each(carries)('carry %i: whole cents now, the remainder carried, sweeps at 100', (carryBefore) => {
    for (let price = 1; price <= 100; price++) {
      for (const percent of [70, 33, 0, 100]) {
        const split = splitRoyalty({ itemPriceCents: price, royaltyPercent: percent, carryBeforeCentiCents: carryBefore });
        const owed = price * percent + carryBefore;
        let wholeCents = 0;
        let rest = owed;
        while (rest >= 100) {
          rest -= 100;
          wholeCents += 1;
        }
        expect(split).toEqual({
          authorAmountCents: wholeCents,
          platformAmountCents: price - wholeCents,
          carryAfterCentiCents: rest,
        });
      }
    }
  });

  it('covers every remainder 0..99 of the exact share', () => {
    const remainders = new Set<number>();
    for (let price = 1; price <= 100; price++) {
      remainders.add(splitRoyalty({ itemPriceCents: price, royaltyPercent: 33, carryBeforeCentiCents: 0 }).carryAfterCentiCents);
    }
    expect(remainders.size).toBe(100);
  });

  it('keeps author + platform = price and 100 * credited + carry = percent * volume over any sequence', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 1_000_000_000 }), { minLength: 1, maxLength: 200 }),
        fc.integer({ min: 0, max: 100 }),
        (prices, percent) => {
          let carry = 0;
          let credited = 0;
          for (const price of prices) {
            const split = splitRoyalty({ itemPriceCents: price, royaltyPercent: percent, carryBeforeCentiCents: carry });
            if (split.authorAmountCents + split.platformAmountCents !== price) return false;
            if (split.platformAmountCents < 0) return false;
            credited += split.authorAmountCents;
            carry = split.carryAfterCentiCents;
          }
          const volume = prices.reduce((sum, price) => sum + price, 0);
          return 100 * credited + carry === percent * volume && carry >= 0 && carry <= 99;
        },
      ),
    );
  });

  it.each([
    { itemPriceCents: 0, royaltyPercent: 70, carryBeforeCentiCents: 0 },
    { itemPriceCents: 1.5, royaltyPercent: 70, carryBeforeCentiCents: 0 },
    { itemPriceCents: 1_000_000_001, royaltyPercent: 70, carryBeforeCentiCents: 0 },
    { itemPriceCents: 100, royaltyPercent: 101, carryBeforeCentiCents: 0 },
    { itemPriceCents: 100, royaltyPercent: -1, carryBeforeCentiCents: 0 },
    { itemPriceCents: 100, royaltyPercent: 70, carryBeforeCentiCents: 100 },
    { itemPriceCents: 100, royaltyPercent: 70, carryBeforeCentiCents: -1 },
    { itemPriceCents: Number.NaN, royaltyPercent: 70, carryBeforeCentiCents: 0 },
  ])('rejects out-of-range input %o', (input) => {
    expect(() => splitRoyalty(input)).toThrow(RangeError);
  });
});

describe('splitRefund', () => {
  it('takes back exactly 6930 centi-cents for a 99-cent refund after the sales 69/69/69/70', () => {
    // Four 99-cent sales leave the author at 277 cents and carry 20 (position 27720).
    expect(splitRefund({ refundAmountCents: 99, royaltyPercent: 70, carryBeforeCentiCents: 20 })).toEqual({
      authorAmountCents: 70,
      platformAmountCents: 29,
      carryAfterCentiCents: 90,
    });
  });

  it('takes the refund out of the carry alone when the carry covers it', () => {
    expect(splitRefund({ refundAmountCents: 1, royaltyPercent: 70, carryBeforeCentiCents: 80 })).toEqual({
      authorAmountCents: 0,
      platformAmountCents: 1,
      carryAfterCentiCents: 10,
    });
  });

  it('undoes a sale exactly when the whole price is refunded right after it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1_000_000_000 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 99 }),
        (price, percent, carry) => {
          const sale = splitRoyalty({ itemPriceCents: price, royaltyPercent: percent, carryBeforeCentiCents: carry });
          const refund = splitRefund({
            refundAmountCents: price,
            royaltyPercent: percent,
            carryBeforeCentiCents: sale.carryAfterCentiCents,
          });
          return refund.authorAmountCents === sale.authorAmountCents && refund.carryAfterCentiCents === carry;
        },
      ),
    );
  });

  it('ends any sequence of partial refunds adding up to the price where one full refund ends', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 99 }),
        fc.array(fc.integer({ min: 1, max: 1_000 }), { minLength: 1, maxLength: 30 }),
        (price, percent, carry, weights) => {
          // Cut the price into at most weights.length positive parts, proportional to the weights.
          const total = weights.reduce((sum, weight) => sum + weight, 0);
          const cuts = [...new Set(weights.map((_, i) => Math.floor((price * weights.slice(0, i + 1).reduce((a, b) => a + b, 0)) / total)))];
          const parts = cuts.map((cut, i) => cut - (i === 0 ? 0 : cuts[i - 1]!)).filter((part) => part > 0);
          let partialCarry = carry;
          let partialAuthorCents = 0;
          for (const part of parts) {
            const step = splitRefund({ refundAmountCents: part, royaltyPercent: percent, carryBeforeCentiCents: partialCarry });
            partialAuthorCents += step.authorAmountCents;
            partialCarry = step.carryAfterCentiCents;
          }
          const whole = splitRefund({ refundAmountCents: price, royaltyPercent: percent, carryBeforeCentiCents: carry });
          return parts.reduce((a, b) => a + b, 0) === price && partialCarry === whole.carryAfterCentiCents &&
            partialAuthorCents === whole.authorAmountCents;
        },
      ),
    );
  });

  it.each([
    { refundAmountCents: 0, royaltyPercent: 70, carryBeforeCentiCents: 0 },
    { refundAmountCents: 2.5, royaltyPercent: 70, carryBeforeCentiCents: 0 },
    { refundAmountCents: 1_000_000_001, royaltyPercent: 70, carryBeforeCentiCents: 0 },
    { refundAmountCents: 10, royaltyPercent: 101, carryBeforeCentiCents: 0 },
    { refundAmountCents: 10, royaltyPercent: 70, carryBeforeCentiCents: 100 },
  ])('rejects out-of-range input %o', (input) => {
    expect(() => splitRefund(input)).toThrow(RangeError);
  });
});
