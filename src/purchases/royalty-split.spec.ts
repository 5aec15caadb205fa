import fc from 'fast-check';
import { splitRoyalty } from './royalty-split';

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
