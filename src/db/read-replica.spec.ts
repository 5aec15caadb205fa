import type { Sql } from 'postgres';
import { parseLsn, ReplicaLag } from './read-replica';

/** A stand-in for a postgres.js client that answers every query with what `answer` gives. */
function fakeSql(answer: () => unknown[]): Sql {
  return ((..._args: unknown[]) => Promise.resolve(answer())) as unknown as Sql;
}

describe('parseLsn', () => {
  it('reads pg_lsn text as one ordered number', () => {
    expect(parseLsn('0/0')).toBe(0n);
    expect(parseLsn('0/3000060')).toBe(0x3000060n);
    expect(parseLsn('1/0') > parseLsn('0/FFFFFFFF')).toBe(true);
  });
});

describe('ReplicaLag', () => {
  let now = 1_000_000;
  beforeEach(() => {
    jest.spyOn(Date, 'now').mockImplementation(() => now);
  });
  afterEach(() => jest.restoreAllMocks());

  function probeWith(primaryLsn: () => string, replica: () => { lsn: string | null; recovering: boolean } | Error) {
    const lag = new ReplicaLag(
      fakeSql(() => [{ lsn: primaryLsn() }]),
      fakeSql(() => {
        const row = replica();
        if (row instanceof Error) throw row;
        return [row];
      }),
      1_000,
      100,
    );
    return lag;
  }

  it('a standby that replayed what the primary had at the last probe is as fresh as that probe', async () => {
    const lag = probeWith(() => '0/100', () => ({ lsn: '0/100', recovering: true }));
    await lag.probe();
    expect(lag.currentLagMs()).toBe(0);
    expect(lag.usable()).toBe(true);
    now += 50;
    // A measurement ages with the clock.
    expect(lag.currentLagMs()).toBe(50);
  });

  it('an idle primary does not make a caught-up standby look stale', async () => {
    const lag = probeWith(() => '0/100', () => ({ lsn: '0/100', recovering: true }));
    for (let probe = 0; probe < 20; probe++) {
      await lag.probe();
      now += 100;
    }
    expect(lag.currentLagMs()).toBe(100);
    expect(lag.usable()).toBe(true);
  });

  it('a standby stuck behind a moving primary is as old as the last position it replayed', async () => {
    let primaryLsn = 0x100;
    const lag = probeWith(() => `0/${(primaryLsn += 0x10).toString(16)}`, () => ({ lsn: '0/110', recovering: true }));
    await lag.probe(); // the primary at 0/110 now: replayed
    for (let probe = 0; probe < 15; probe++) {
      now += 100;
      await lag.probe();
    }
    expect(lag.currentLagMs()).toBe(1_500);
    expect(lag.usable()).toBe(false);
  });

  it('unknown lag (the standby behind everything remembered, or failing) means the primary', async () => {
    const behind = probeWith(() => '0/200', () => ({ lsn: '0/100', recovering: true }));
    await behind.probe();
    expect(behind.currentLagMs()).toBeUndefined();
    expect(behind.usable()).toBe(false);
    const failing = probeWith(() => '0/200', () => new Error('connection refused'));
    await failing.probe();
    expect(failing.usable()).toBe(false);
  });

  it('a promoted standby (no longer in recovery) is current', async () => {
    const lag = probeWith(() => '0/900', () => ({ lsn: null, recovering: false }));
    await lag.probe();
    expect(lag.currentLagMs()).toBe(0);
  });

  it('a measurement too old to trust is unknown', async () => {
    const lag = probeWith(() => '0/100', () => ({ lsn: '0/100', recovering: true }));
    await lag.probe();
    now += 1_000 + 2 * 100 + 1;
    expect(lag.currentLagMs()).toBeUndefined();
  });
});
