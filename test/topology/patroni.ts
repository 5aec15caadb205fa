import { ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isRoot, postgresBinDir, postgresIds, serverSubdirectory, sleep, topologyPort, waitFor } from './postgres-nodes';

const run = promisify(execFile);

/** Patroni's bootstrap (initdb, then a clone) is the slow part; bounded all the same. */
const BOOTSTRAP_TIMEOUT_MS = 120_000;
const BOOTSTRAP_ATTEMPTS = 2;
const LOG_TAIL_CHARS = 2_000;

async function httpStatus(url: string, init?: RequestInit, timeoutMs = 2_000): Promise<number> {
  try {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    await response.text();
    return response.status;
  } catch {
    return 0;
  }
}

function spawnLogged(command: string, args: string[], logFile: string, options: { uid?: number; gid?: number; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  child.stdout!.pipe(log);
  child.stderr!.pipe(log);
  return child;
}

async function killHard(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((done) => {
    child.once('exit', () => done());
    child.kill('SIGKILL');
  });
}

/** One Patroni member: its PostgreSQL port, its REST API port, its process. */
export class PatroniMember {
  process: ChildProcess | undefined;

  constructor(
    readonly name: string,
    readonly pgPort: number,
    readonly restPort: number,
    readonly dataDir: string,
    readonly configFile: string,
  ) {}

  get restUrl(): string {
    return `http://127.0.0.1:${this.restPort}`;
  }

  async isPrimary(): Promise<boolean> {
    return (await httpStatus(`${this.restUrl}/primary`)) === 200;
  }

  async isSynchronousStandby(): Promise<boolean> {
    return (await httpStatus(`${this.restUrl}/sync`)) === 200;
  }
}

/**
 * Patroni with a single etcd node, two members (synchronous mode), and HAProxy in front that
 * sends connections to whichever member Patroni's REST API calls the primary (GET /primary).
 * Everything under `root`, on ports of this suite's range; Patroni and PostgreSQL run as the
 * postgres OS user when this process is root.
 */
export class PatroniCluster {
  private etcd: ChildProcess | undefined;
  private haproxy: ChildProcess | undefined;
  readonly members: PatroniMember[] = [];
  haproxyPort = 0;

  private constructor(readonly root: string) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.haproxyPort}/wallet`;
  }

  /**
   * A bootstrap that misses its bound is retried once from scratch, in a fresh folder on fresh
   * ports: it failed once in CI (member1 never led within 120 s) with nothing of the service
   * running yet. The error names each attempt's cause and the tail of each member's log.
   */
  static async start(root: string): Promise<PatroniCluster> {
    const failures: string[] = [];
    for (let attempt = 1; attempt <= BOOTSTRAP_ATTEMPTS; attempt++) {
      const cluster = new PatroniCluster(join(root, `attempt-${attempt}`));
      await serverSubdirectory(cluster.root);
      try {
        await cluster.startEtcd();
        await cluster.startMembers();
        await cluster.startHaproxy();
        return cluster;
      } catch (error) {
        await cluster.stop();
        failures.push(`attempt ${attempt}: ${(error as Error).message}\n${cluster.logTails()}`);
      }
    }
    throw new Error(`Patroni cluster did not start:\n${failures.join('\n')}`);
  }

  private logTails(): string {
    return ['etcd', ...this.members.map((member) => member.name)]
      .map((name) => {
        try {
          return `--- ${name}.log (tail)\n${readFileSync(join(this.root, `${name}.log`), 'utf8').slice(-LOG_TAIL_CHARS)}`;
        } catch {
          return `--- ${name}.log: none`;
        }
      })
      .join('\n');
  }

  private etcdClientPort = 0;

  private async startEtcd(): Promise<void> {
    this.etcdClientPort = await topologyPort();
    const peerPort = await topologyPort();
    const peer = `http://127.0.0.1:${peerPort}`;
    const client = `http://127.0.0.1:${this.etcdClientPort}`;
    this.etcd = spawnLogged(
      'etcd',
      [
        '--name', 'topology',
        '--data-dir', join(this.root, 'etcd'),
        '--listen-client-urls', client,
        '--advertise-client-urls', client,
        '--listen-peer-urls', peer,
        '--initial-advertise-peer-urls', peer,
        '--initial-cluster', `topology=${peer}`,
      ],
      join(this.root, 'etcd.log'),
    );
    await waitFor('etcd healthy', async () => (await httpStatus(`${client}/health`)) === 200, 30_000);
  }

  private async startMembers(): Promise<void> {
    const binDir = await postgresBinDir();
    const scope = `wallet-topology-${randomBytes(4).toString('hex')}`;
    for (const name of ['member1', 'member2']) {
      const member = new PatroniMember(name, await topologyPort(), await topologyPort(), join(this.root, name), join(this.root, `${name}.yml`));
      writeFileSync(member.configFile, this.memberConfig(member, scope, binDir));
      this.members.push(member);
    }
    // The first bootstraps the cluster; the second then clones it.
    await this.startMember(this.members[0]!);
    await waitFor('member1 leading', () => this.members[0]!.isPrimary(), BOOTSTRAP_TIMEOUT_MS);
    await this.startMember(this.members[1]!);
    await waitFor('member2 a synchronous standby', () => this.members[1]!.isSynchronousStandby(), BOOTSTRAP_TIMEOUT_MS);
  }

  /** Short timings so that a crashed leader is replaced within seconds: ttl 10 s, a loop every second. */
  private memberConfig(member: PatroniMember, scope: string, binDir: string): string {
    return `scope: ${scope}
namespace: /wallet-topology/
name: ${member.name}
restapi:
  listen: 127.0.0.1:${member.restPort}
  connect_address: 127.0.0.1:${member.restPort}
etcd3:
  host: 127.0.0.1:${this.etcdClientPort}
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 1
    retry_timeout: 4
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    postgresql:
      use_pg_rewind: true
      parameters:
        wal_keep_size: 512MB
        max_connections: 100
        max_wal_senders: 10
        hot_standby: 'on'
        fsync: 'off'
  initdb:
    - data-checksums
    - auth: trust
postgresql:
  listen: 127.0.0.1:${member.pgPort}
  connect_address: 127.0.0.1:${member.pgPort}
  data_dir: ${member.dataDir}
  bin_dir: ${binDir}
  pgpass: ${join(this.root, `${member.name}.pgpass`)}
  authentication:
    superuser:
      username: postgres
      password: topology
    replication:
      username: postgres
      password: topology
  parameters:
    unix_socket_directories: ${this.root}
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host replication all 127.0.0.1/32 trust
`;
  }

  async startMember(member: PatroniMember): Promise<void> {
    // Patroni and its PostgreSQL run as the postgres OS user when this process is root.
    const user = isRoot() ? await postgresIds() : undefined;
    member.process = spawnLogged('patroni', [member.configFile], join(this.root, `${member.name}.log`), {
      ...(user ?? {}),
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: this.root },
    });
  }

  private async startHaproxy(): Promise<void> {
    this.haproxyPort = await topologyPort();
    const config = join(this.root, 'haproxy.cfg');
    writeFileSync(
      config,
      `global
  maxconn 400
defaults
  mode tcp
  timeout connect 2s
  timeout client 30m
  timeout server 30m
  timeout check 1s
listen postgres
  bind 127.0.0.1:${this.haproxyPort}
  option httpchk OPTIONS /primary
  http-check expect status 200
  default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions
${this.members.map((member) => `  server ${member.name} 127.0.0.1:${member.pgPort} maxconn 200 check port ${member.restPort}`).join('\n')}
`,
    );
    this.haproxy = spawnLogged('haproxy', ['-f', config, '-db'], join(this.root, 'haproxy.log'));
    await sleep(500);
    if (this.haproxy.exitCode !== null) throw new Error(`haproxy exited with ${this.haproxy.exitCode} (see ${join(this.root, 'haproxy.log')})`);
  }

  async leader(): Promise<PatroniMember | undefined> {
    for (const member of this.members) if (await member.isPrimary()) return member;
    return undefined;
  }

  async waitForLeader(other: PatroniMember | undefined, timeoutMs: number): Promise<PatroniMember> {
    let found: PatroniMember | undefined;
    await waitFor(
      'a new Patroni leader',
      async () => {
        found = await this.leader();
        return found !== undefined && found !== other;
      },
      timeoutMs,
    );
    return found!;
  }

  /** A planned switchover through the leader's REST API. */
  async switchover(from: PatroniMember, to: PatroniMember): Promise<void> {
    const status = await httpStatus(`${from.restUrl}/switchover`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ leader: from.name, candidate: to.name }),
    }, 60_000);
    if (status !== 200) throw new Error(`switchover answered ${status}`);
  }

  /** The member's machine dies: Patroni and its PostgreSQL are killed, no shutdown of either. */
  async crash(member: PatroniMember): Promise<void> {
    await killHard(member.process);
    const binDir = await postgresBinDir();
    const pgCtl = join(binDir, 'pg_ctl');
    const [command, args] = isRoot()
      ? ['runuser', ['-u', 'postgres', '--', pgCtl, '-D', member.dataDir, '-m', 'immediate', '-w', 'stop']]
      : [pgCtl, ['-D', member.dataDir, '-m', 'immediate', '-w', 'stop']];
    await run(command as string, args as string[], { timeout: 30_000 }).catch(() => undefined);
  }

  async stop(): Promise<void> {
    await killHard(this.haproxy);
    for (const member of this.members) await this.crash(member);
    await killHard(this.etcd);
  }
}
