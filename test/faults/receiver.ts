import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { Webhook } from 'standardwebhooks';

/** One request the receiver got, whole (headers and body), whatever happened to its answer. */
export interface ReceivedRequest {
  webhookId: string;
  headers: Record<string, string>;
  body: string;
  receivedAt: number;
  /** Undefined until checked; the check runs as soon as the endpoint's secret is known. */
  verified?: boolean;
  verifyError?: string;
  /** The status this receiver finished writing, or undefined when it never answered (held, killed). */
  answered?: number;
  /** Received while the receiver was holding answers back (the sender was then killed). */
  held: boolean;
}

/**
 * A webhook receiver on 127.0.0.1 at a fixed port, so that it can go down and come back where
 * the endpoint points. Every request is recorded and checked with the Standard Webhooks
 * library (not the service's code); it answers 200 after a short seeded pause, so that attempts
 * are in flight when a fault strikes. `hold()` keeps answers back until `release()`.
 */
export class WebhookReceiver {
  readonly received: ReceivedRequest[] = [];
  private server: Server | undefined;
  private holding = false;
  private readonly held: ServerResponse[] = [];
  private verifier: Webhook | undefined;

  constructor(
    readonly port: number,
    private readonly random: () => number,
    private readonly answerDelayMaxMs = 20,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks/wallet`;
  }

  get isUp(): boolean {
    return this.server !== undefined;
  }

  /** The endpoint's secret: checks what arrived before it was known, and all that follows. */
  setSecret(secret: string): void {
    this.verifier = new Webhook(secret);
    for (const request of this.received) if (request.verified === undefined) this.verify(request);
  }

  async start(): Promise<void> {
    const server = createServer((request, response) => this.handle(request, response));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.server = server;
  }

  /** Down: the port refuses connections, open ones are cut. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.release();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  hold(): void {
    this.holding = true;
  }

  /** Stops holding; the answers held back are cut, never written (their sender is gone). */
  release(): void {
    this.holding = false;
    for (const response of this.held.splice(0)) response.destroy();
  }

  heldCount(): number {
    return this.received.filter((request) => request.held).length;
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const headers = request.headers as Record<string, string>;
      const record: ReceivedRequest = {
        webhookId: headers['webhook-id'] ?? '',
        headers,
        body: Buffer.concat(chunks).toString('utf8'),
        receivedAt: Date.now(),
        held: this.holding,
      };
      this.received.push(record);
      if (this.verifier) this.verify(record);
      if (this.holding) {
        this.held.push(response);
        return;
      }
      const pause = Math.floor(this.random() * this.answerDelayMaxMs);
      setTimeout(() => {
        if (response.destroyed) return;
        response.once('finish', () => (record.answered = 200));
        response.statusCode = 200;
        response.end('ok');
      }, pause);
    });
  }

  private verify(record: ReceivedRequest): void {
    try {
      this.verifier!.verify(record.body, record.headers);
      record.verified = true;
    } catch (error) {
      record.verified = false;
      record.verifyError = (error as Error).message;
    }
  }
}
