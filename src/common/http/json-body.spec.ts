import { jsonDepth } from './json-body';

describe('jsonDepth', () => {
  it.each([
    [1, 0],
    ['x', 0],
    [null, 0],
    [{}, 1],
    [[], 1],
    [{ amount: 100 }, 1],
    [{ a: { b: [1, { c: 2 }] } }, 4],
  ])('%j nests %d deep', (value, depth) => {
    expect(jsonDepth(value)).toBe(depth);
  });

  it('measures 100,000 levels without overflowing the stack', () => {
    const text = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      // Some engines refuse this much nesting themselves; then build it by hand.
      value = [];
      for (let i = 1; i < 100_000; i++) value = [value];
    }
    expect(jsonDepth(value)).toBe(100_000);
  });
});
