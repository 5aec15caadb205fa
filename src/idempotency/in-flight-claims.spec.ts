import { InFlightClaims } from './in-flight-claims';

describe('InFlightClaims', () => {
  let nowMs: number;
  const claims = (maxEntries = 3, ttlMs = 100) => new InFlightClaims<string>({ maxEntries, ttlMs }, () => nowMs);

  beforeEach(() => {
    nowMs = 1_000;
  });

  it('gives back what was set until it is deleted', () => {
    const map = claims();
    map.set('a', 'claimed');
    expect(map.get('a')).toBe('claimed');
    expect(map.has('a')).toBe(true);
    map.delete('a');
    expect(map.get('a')).toBeUndefined();
    expect(map.size).toBe(0);
  });

  it('forgets an entry once its TTL has passed, and every older one with it', () => {
    const map = claims(10, 100);
    map.set('a', '1');
    nowMs += 50;
    map.set('b', '2');
    nowMs += 50;
    expect(map.get('a')).toBeUndefined();
    expect(map.size).toBe(1);
    expect(map.get('b')).toBe('2');
    nowMs += 50;
    expect(map.has('b')).toBe(false);
    expect(map.size).toBe(0);
  });

  it('drops expired entries that nobody reads once a new one is set', () => {
    const map = claims(10, 100);
    map.set('a', '1');
    map.set('b', '2');
    nowMs += 100;
    map.set('c', '3');
    expect(map.size).toBe(1);
    expect(map.get('c')).toBe('3');
  });

  it('drops the oldest entry beyond maxEntries', () => {
    const map = claims(2);
    map.set('a', '1');
    map.set('b', '2');
    map.set('c', '3');
    expect([map.get('a'), map.get('b'), map.get('c')]).toEqual([undefined, '2', '3']);
    expect(map.size).toBe(2);
  });

  it('a key set again is the newest, with a fresh TTL', () => {
    const map = claims(2, 100);
    map.set('a', '1');
    nowMs += 60;
    map.set('b', '2');
    map.set('a', '1 again');
    map.set('c', '3');
    // 'b' was the oldest once 'a' was set again.
    expect([map.get('a'), map.get('b'), map.get('c')]).toEqual(['1 again', undefined, '3']);
    nowMs += 60;
    expect(map.get('a')).toBe('1 again');
  });

  it('empties and fills again, as it does whenever a process has no request in flight', () => {
    const map = claims(50_000);
    for (let i = 0; i < 1_000; i++) {
      map.set(`k${i}`, 'claimed');
      expect(map.get(`k${i}`)).toBe('claimed');
      map.delete(`k${i}`);
      expect(map.size).toBe(0);
    }
  });

  it('refuses limits that cannot work', () => {
    expect(() => new InFlightClaims({ maxEntries: 0, ttlMs: 1 })).toThrow(RangeError);
    expect(() => new InFlightClaims({ maxEntries: 1, ttlMs: 0 })).toThrow(RangeError);
  });
});
