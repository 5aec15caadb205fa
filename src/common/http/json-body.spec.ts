import { jsonDepth, jsonKeyErrors } from './json-body';

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

describe('jsonKeyErrors', () => {
  it.each([
    ['{"amount":1}', []],
    ['[]', []],
    ['1', []],
    // The same name in different objects is no repetition.
    ['{"a":{"x":1},"b":{"x":2},"c":[{"x":1},{"x":2}]}', []],
    ['{"amount":1,"amount":2}', [{ field: 'amount', message: 'amount must be given only once' }]],
    ['{"amount":1,"am\\u006funt":2}', [{ field: 'amount', message: 'amount must be given only once' }]],
    ['{"a":{"b":[{"c":1,"c":2}]}}', [{ field: 'a.b.0.c', message: 'a.b.0.c must be given only once' }]],
    ['{"__proto__":{}}', [{ field: '__proto__', message: 'property __proto__ should not exist' }]],
    ['{"x":[{"constructor":{"prototype":1}}]}', [
      { field: 'x.0.constructor', message: 'property x.0.constructor should not exist' },
      { field: 'x.0.constructor.prototype', message: 'property x.0.constructor.prototype should not exist' },
    ]],
    ['{"toString":1,"toString":2}', [
      { field: 'toString', message: 'property toString should not exist' },
      { field: 'toString', message: 'property toString should not exist' },
    ]],
  ])('%s -> %j', (text, errors) => {
    expect(jsonKeyErrors(text)).toEqual(errors);
  });

  it('finds a repeated key among many in a large body', () => {
    const fields = Array.from({ length: 1_000 }, (_, i) => `"f${i}":${i}`);
    expect(jsonKeyErrors(`{${fields.join(',')}}`)).toEqual([]);
    expect(jsonKeyErrors(`{${[...fields, '"f500":0'].join(',')}}`)).toEqual([
      { field: 'f500', message: 'f500 must be given only once' },
    ]);
  });
});
