/**
 * The claims of requests in flight in this process, by key: set when a claim is made, taken by
 * the same request a few milliseconds later, and expired after `ttlMs` in case no one takes it.
 * At most `maxEntries`; beyond that the oldest entry goes.
 *
 * A Map, not lru-cache: this map is empty whenever the process has no money request in flight,
 * and lru-cache empties itself by clearing its preallocated arrays, O(max) per request (ADR 0069).
 * A Map keeps insertion order, which is the expiry order here: every entry gets the same TTL.
 */
export class InFlightClaims<V> {
  private readonly entries = new Map<string, { value: V; expiresAtMs: number }>();

  constructor(
    private readonly options: { maxEntries: number; ttlMs: number },
    private readonly nowMs: () => number = Date.now,
  ) {
    if (!Number.isInteger(options.maxEntries) || options.maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
    if (!(options.ttlMs > 0)) throw new RangeError('ttlMs must be positive');
  }

  get size(): number {
    return this.entries.size;
  }

  set(key: string, value: V): void {
    // Deleted first, so that a key set again moves to the end of the insertion order.
    this.entries.delete(key);
    // Claims no request took (it died before its service call) go here, not only when read.
    this.dropExpired();
    if (this.entries.size >= this.options.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, expiresAtMs: this.nowMs() + this.options.ttlMs });
  }

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAtMs > this.nowMs()) return entry.value;
    this.dropExpired();
    return undefined;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** Expired entries sit at the front: every entry has the same TTL. */
  private dropExpired(): void {
    const nowMs = this.nowMs();
    for (const [key, entry] of this.entries) {
      if (entry.expiresAtMs > nowMs) return;
      this.entries.delete(key);
    }
  }
}
