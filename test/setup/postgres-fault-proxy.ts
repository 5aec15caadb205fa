import * as net from 'node:net';

/**
 * What the proxy does with a connection:
 * - `forward`: passes bytes to the real PostgreSQL both ways;
 * - `refuse`: nothing listens on the port (ECONNREFUSED, as for a stopped server);
 * - `silent`: accepts and never answers (a hung server, or a network that drops packets);
 * - a SQLSTATE such as `53300`: answers the startup message with the FATAL ErrorResponse that
 *   PostgreSQL itself sends when it turns a connection away, then closes.
 */
export type ProxyMode = 'forward' | 'refuse' | 'silent' | { sqlState: string; message: string };

/** `too_many_connections`: max_connections (or a role's or database's limit) is reached. */
export const TOO_MANY_CONNECTIONS = { sqlState: '53300', message: 'sorry, too many clients already' };
/** `cannot_connect_now`: the server is starting up, shutting down or in recovery. */
export const CANNOT_CONNECT_NOW = { sqlState: '57P03', message: 'the database system is starting up' };

/** SSLRequest's request code (PostgreSQL protocol, section 55.2.10). */
const SSL_REQUEST_CODE = 80_877_103;

/**
 * A TCP proxy of the test's own in front of PostgreSQL: it takes the database away from one app,
 * in the way a given outage looks on the wire, without touching the server everyone else uses.
 * Changing the mode cuts every open connection, as a failover or a restart would.
 */
export class PostgresFaultProxy {
  private readonly sockets = new Set<net.Socket>();
  /** Forwarded connections, client side with its upstream, while they forward. */
  private readonly pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  /** Connections frozen by `freezeOpenConnections`: neither forwarded nor cut until `stop`. */
  private readonly frozen = new Set<net.Socket>();
  private server: net.Server | undefined;
  private mode: ProxyMode = 'forward';
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** The URL of `databaseUrl`'s database, reached through this proxy. */
  urlFor(databaseUrl: string): string {
    const url = new URL(databaseUrl);
    url.hostname = '127.0.0.1';
    url.port = String(this.port);
    return url.toString();
  }

  async setMode(mode: ProxyMode): Promise<void> {
    this.mode = mode;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (mode === 'refuse') await this.close();
    else if (!this.server) await this.listen();
  }

  /**
   * Half-open connections: every connection forwarded now stops passing bytes either way and is
   * never closed, as when the server's host vanished or the network drops its packets; no error
   * reaches either side. Later mode changes do not cut them (only `stop` does), so they stay
   * dead after the outage while new connections follow the mode.
   */
  freezeOpenConnections(): void {
    for (const { client, upstream } of this.pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      for (const socket of [client, upstream]) {
        this.sockets.delete(socket);
        this.frozen.add(socket);
      }
    }
    this.pairs.clear();
  }

  async stop(): Promise<void> {
    this.mode = 'refuse';
    for (const socket of this.frozen) socket.destroy();
    for (const socket of this.sockets) socket.destroy();
    await this.close();
  }

  private async listen(): Promise<void> {
    const server = net.createServer((client) => this.accept(client));
    // The first start takes any free port; later ones take the same port again.
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  private async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    this.track(client);
    const mode = this.mode;
    if (mode === 'silent' || mode === 'refuse') return;
    if (mode === 'forward') {
      const upstream = net.connect(this.targetPort, this.targetHost);
      this.track(upstream);
      const pair = { client, upstream };
      this.pairs.add(pair);
      client.on('close', () => this.pairs.delete(pair));
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      return;
    }
    let received = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      while (received.length >= 8 && received.length >= received.readInt32BE(0)) {
        const length = received.readInt32BE(0);
        const code = received.readInt32BE(4);
        received = received.subarray(length);
        if (code === SSL_REQUEST_CODE) {
          client.write('N');
          continue;
        }
        client.end(errorResponse(mode.sqlState, mode.message));
        return;
      }
    });
  }

  private track(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.sockets.delete(socket);
      this.frozen.delete(socket);
    });
  }
}

/** A FATAL ErrorResponse message ('E'), fields as PostgreSQL sends them. */
function errorResponse(sqlState: string, message: string): Buffer {
  const fields = Buffer.from(['SFATAL', 'VFATAL', `C${sqlState}`, `M${message}`].map((field) => `${field}\0`).join('') + '\0');
  const header = Buffer.alloc(5);
  header.write('E', 0);
  header.writeInt32BE(4 + fields.length, 1);
  return Buffer.concat([header, fields]);
}
