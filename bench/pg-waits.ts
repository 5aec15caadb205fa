import type { Sql } from 'postgres';

/**
 * What the service's PostgreSQL backends are doing, sampled from pg_stat_activity every
 * `everyMs` while a phase runs: on CPU (no wait event), waiting for a lock, for the WAL to be
 * flushed (IO:WALSync, LWLock:WALWrite), for the client (the service), and so on. A share of
 * samples, not of time: coarse, but it says which of these the database's part of a request is.
 */
export class PgWaitSampler {
  private readonly counts = new Map<string, number>();
  private samples = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly sql: Sql,
    private readonly databaseName: string,
    private readonly everyMs = 50,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running = this.sample().catch(() => undefined);
    }, this.everyMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  private async sample(): Promise<void> {
    const rows = await this.sql<{ wait: string; backends: number }[]>`
      SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') AS wait, count(*)::int AS backends
      FROM pg_stat_activity
      WHERE datname = ${this.databaseName} AND state = 'active' AND pid <> pg_backend_pid()
      GROUP BY 1`;
    this.samples += 1;
    for (const { wait, backends } of rows) this.counts.set(wait, (this.counts.get(wait) ?? 0) + backends);
  }

  /** The most frequent states, e.g. "CPU 1.2, IO:WALSync 0.4": active backends on average per sample. */
  summary(top = 4): string {
    if (this.samples === 0) return '';
    return [...this.counts]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([wait, count]) => `${wait} ${(count / this.samples).toFixed(2)}`)
      .join(', ');
  }
}
