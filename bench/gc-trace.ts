/**
 * Bytes the service allocated on the JavaScript heap, from V8's `--trace-gc` lines on its
 * stdout (BENCH_TRACE_GC=1). Between two collections of one process the program allocated what
 * the heap held before the second minus what it held after the first; summed over a phase and
 * divided by its requests, that is the allocation per request, which sets how often the young
 * generation is collected. Independent of how busy the machine is, unlike any latency.
 */

// [pid:0xisolate]   1234 ms: Scavenge 10.5 (12.3) -> 9.8 (20.3) MB, ...
const GC_LINE = /^\[(\d+):0x[0-9a-f]+\]\s+[\d.]+ ms: ([A-Za-z -]+?) ([\d.]+) \(([\d.]+)\) -> ([\d.]+) \(([\d.]+)\) MB, .*?([\d.]+) \/ ([\d.]+) ms/;

export interface GcPauses {
  count: number;
  totalMs: number;
  maxMs: number;
}

export class GcTrace {
  private readonly afterLastMb = new Map<number, number>();
  private allocatedMb = 0;
  private readonly collections = new Map<string, number>();
  /** Main-thread pause per kind of collection: how many, their sum and the longest, ms. */
  private readonly pauses = new Map<string, GcPauses>();
  private partial = '';

  /** Feeds the service's stdout; returns what is not a GC line (to be printed as usual). */
  feed(chunk: string): string {
    const text = this.partial + chunk;
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    const rest: string[] = [];
    for (const line of lines) {
      const match = GC_LINE.exec(line);
      if (!match) {
        rest.push(line);
        continue;
      }
      const pid = Number(match[1]);
      const kind = match[2]!.trim();
      const beforeMb = Number(match[3]);
      const afterMb = Number(match[5]);
      const previous = this.afterLastMb.get(pid);
      if (previous !== undefined && beforeMb > previous) this.allocatedMb += beforeMb - previous;
      this.afterLastMb.set(pid, afterMb);
      this.collections.set(kind, (this.collections.get(kind) ?? 0) + 1);
      const pauseMs = Number(match[7]);
      const pauses = this.pauses.get(kind) ?? { count: 0, totalMs: 0, maxMs: 0 };
      this.pauses.set(kind, { count: pauses.count + 1, totalMs: pauses.totalMs + pauseMs, maxMs: Math.max(pauses.maxMs, pauseMs) });
    }
    return rest.length > 0 ? `${rest.join('\n')}\n` : '';
  }

  /** Allocated MiB and collections by kind so far (take two and subtract for a phase). */
  snapshot(): { allocatedMb: number; collections: Map<string, number> } {
    return { allocatedMb: this.allocatedMb, collections: new Map(this.collections) };
  }

  /**
   * Pauses by kind since the last call, over every process: the phase's GC pauses with the
   * resolution of the trace (V8's own timing) rather than of /metrics' histogram buckets.
   */
  takePauses(): Map<string, GcPauses> {
    const taken = new Map(this.pauses);
    this.pauses.clear();
    return taken;
  }
}
