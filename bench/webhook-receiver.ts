import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fixed, percentiles } from './stats';

/**
 * A webhook receiver for the purchases-webhook workload: answers every delivery 204 at once and
 * keeps, per webhook-id, how long after the event's createdAt (the money transaction's clock) it
 * first arrived. createdAt is taken when the transaction starts, so this is commit-to-delivery
 * plus the transaction's own time: an upper bound.
 */
export class WebhookReceiver {
  private readonly firstSeenMs = new Map<string, number>();
  private duplicates = 0;
  private server: http.Server | undefined;

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const id = String(req.headers['webhook-id'] ?? '');
        const receivedAtMs = Date.now();
        try {
          const event = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { createdAt: string };
          if (this.firstSeenMs.has(id)) this.duplicates += 1;
          else this.firstSeenMs.set(id, receivedAtMs - Date.parse(event.createdAt));
        } catch {
          // A body that is not an event is the service's bug; it shows as a delivery missing below.
        }
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}/hook`;
  }

  get delivered(): number {
    return this.firstSeenMs.size;
  }

  /** Deliveries so far, with their latency percentiles and the duplicates received. */
  summary(): string {
    const [p50, p99, max] = percentiles(Float64Array.from(this.firstSeenMs.values()), [50, 99, 100]);
    return (
      `${this.firstSeenMs.size} events delivered, commit-to-delivery p50 ${fixed(p50 ?? NaN, 1)} ms, ` +
      `p99 ${fixed(p99 ?? NaN, 1)} ms, max ${fixed(max ?? NaN, 1)} ms, ${this.duplicates} duplicates`
    );
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
