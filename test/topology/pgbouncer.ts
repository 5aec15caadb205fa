import { ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { isRoot, topologyPort, waitFor } from './postgres-nodes';

/**
 * PgBouncer of this suite's own in transaction mode, in front of one PostgreSQL server, with no
 * `ignore_startup_parameters`: a client that sends a startup parameter PgBouncer does not track
 * is refused (08P01), as in production. Runs as the postgres OS user when this process is root
 * (PgBouncer refuses root).
 */
export class PgBouncer {
  private process: ChildProcess | undefined;
  readonly output: string[] = [];

  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  static async start(dir: string, server: { host: string; port: number }): Promise<PgBouncer> {
    const bouncer = new PgBouncer(dir, await topologyPort());
    writeFileSync(join(dir, 'userlist.txt'), '"postgres" ""\n');
    writeFileSync(
      join(dir, 'pgbouncer.ini'),
      [
        '[databases]',
        `* = host=${server.host} port=${server.port}`,
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${bouncer.port}`,
        'unix_socket_dir =',
        'auth_type = trust',
        `auth_file = ${join(dir, 'userlist.txt')}`,
        'pool_mode = transaction',
        'max_client_conn = 1000',
        'default_pool_size = 20',
        // Databases come and go during the e2e run (one per test file); idle server connections do not linger.
        'server_idle_timeout = 10',
        'server_lifetime = 60',
        `pidfile = ${join(dir, 'pgbouncer.pid')}`,
        '',
      ].join('\n'),
    );
    const command = isRoot() ? ['runuser', ['-u', 'postgres', '--', 'pgbouncer', join(dir, 'pgbouncer.ini')]] : ['pgbouncer', [join(dir, 'pgbouncer.ini')]];
    const child = spawn(command[0] as string, command[1] as string[], { stdio: ['ignore', 'pipe', 'pipe'] });
    bouncer.process = child;
    child.stdout!.on('data', (chunk: Buffer) => bouncer.output.push(chunk.toString('utf8')));
    child.stderr!.on('data', (chunk: Buffer) => bouncer.output.push(chunk.toString('utf8')));
    await waitFor(
      'pgbouncer listening',
      () =>
        new Promise<boolean>((done) => {
          const socket = connect(bouncer.port, '127.0.0.1');
          socket.once('connect', () => {
            socket.destroy();
            done(true);
          });
          socket.once('error', () => done(false));
        }),
      20_000,
    );
    return bouncer;
  }

  url(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  async stop(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((done) => {
      child.once('exit', () => done());
      // runuser passes the signal on to PgBouncer.
      child.kill('SIGTERM');
    });
  }
}
