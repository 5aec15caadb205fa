import { Injectable } from '@nestjs/common';
import { Database } from '../db/database';
import type { EventType } from './event-types';
import { toDate } from '../db/sql-values';
import type { FeedPosition } from './event-cursor';

export interface EventRow {
  id: string;
  type: EventType;
  createdAt: Date;
  data: Record<string, unknown>;
  position: FeedPosition;
}

export interface FeedPage {
  rows: EventRow[];
  /** Where the next read starts: after the last row, or after the last event examined. */
  position: FeedPosition;
}

export interface FeedQuery {
  after: FeedPosition;
  limit: number;
  /** undefined = every type. */
  types: readonly EventType[] | undefined;
  /** undefined = every wallet (admins); else the events naming this wallet. */
  walletId: string | undefined;
  /** At most this many events are examined per read, so a rare type never scans the table. */
  scanMax: number;
}

interface EventSqlRow {
  id: string;
  xid: string;
  seq: string;
  type: EventType;
  created_at: Date | string;
  data: Record<string, unknown>;
  matched: boolean;
}

@Injectable()
export class EventsRepository {
  constructor(private readonly database: Database) {}

  /**
   * The next events after `after`, in feed order (xid, seq), only from transactions below the
   * oldest one still in flight (ADR 0030): every event returned is final and no event can later
   * appear before it. One statement, so the fence and the read share one snapshot.
   */
  async feedPage(query: FeedQuery): Promise<FeedPage> {
    // The replica's fence is as final as the primary's for what it has replayed (ADR 0053).
    const sql = this.database.reader().sql;
    const { after, walletId, types } = query;
    const fence = sql`events_feed_fence()`;
    const afterCondition = sql`(e.xid, e.seq) > (${after.xid}::xid8, ${after.seq}::bigint)`;
    const source = walletId === undefined
      ? sql`SELECT e.id, e.xid, e.seq, e.type FROM events e
             WHERE ${afterCondition} AND e.xid < ${fence}
             ORDER BY e.xid, e.seq LIMIT ${query.scanMax}`
      : sql`SELECT * FROM (
              (SELECT e.id, e.xid, e.seq, e.type FROM events e
                WHERE e.wallet_id = ${walletId}::uuid AND ${afterCondition} AND e.xid < ${fence}
                ORDER BY e.xid, e.seq LIMIT ${query.scanMax})
              UNION ALL
              (SELECT e.id, e.xid, e.seq, e.type FROM events e
                WHERE e.counterparty_wallet_id = ${walletId}::uuid AND e.wallet_id <> ${walletId}::uuid
                  AND ${afterCondition} AND e.xid < ${fence}
                ORDER BY e.xid, e.seq LIMIT ${query.scanMax})
              UNION ALL
              -- Further payees of split purchases (ADR 0067); never the event's wallet or counterparty.
              (SELECT e.id, e.xid, e.seq, e.type FROM event_parties p JOIN events e ON e.id = p.event_id
                WHERE p.wallet_id = ${walletId}::uuid AND (p.xid, p.seq) > (${after.xid}::xid8, ${after.seq}::bigint)
                  AND p.xid < ${fence}
                ORDER BY p.xid, p.seq LIMIT ${query.scanMax})) u
             ORDER BY u.xid, u.seq LIMIT ${query.scanMax}`;
    const matches = types === undefined ? sql`true` : sql`s.type = ANY (${sql.array([...types])}::text[])`;
    // The matched events (with their data), plus the last event examined, which ends the page
    // when fewer than `limit` matched.
    const rows = await sql<EventSqlRow[]>`
      WITH scanned AS (${source}),
           matched AS (SELECT s.id, s.xid, s.seq FROM scanned s WHERE ${matches} ORDER BY s.xid, s.seq LIMIT ${query.limit}),
           last_scanned AS (SELECT s.id, s.xid, s.seq FROM scanned s ORDER BY s.xid DESC, s.seq DESC LIMIT 1)
      SELECT e.id, e.xid::text AS xid, e.seq::text AS seq, e.type, e.created_at, e.data, true AS matched
        FROM matched m JOIN events e ON e.id = m.id
      UNION ALL
      SELECT l.id, l.xid::text, l.seq::text, NULL, NULL, NULL, false FROM last_scanned l`;
    const matched = rows.filter((row) => row.matched).sort(byPosition);
    const lastScanned = rows.find((row) => !row.matched);
    const full = matched.length === query.limit;
    const end = full ? matched[matched.length - 1] : lastScanned;
    return {
      rows: matched.map((row) => ({
        id: row.id,
        type: row.type,
        createdAt: toDate(row.created_at),
        data: row.data,
        position: { xid: row.xid, seq: row.seq },
      })),
      position: end ? { xid: end.xid, seq: end.seq } : after,
    };
  }

  /** The wallet of a user (one per user), or undefined. */
  async walletIdOfUser(userId: string): Promise<string | undefined> {
    const [row] = await this.database.sql<{ id: string }[]>`SELECT id FROM wallets WHERE user_id = ${userId}::uuid`;
    return row?.id;
  }
}

function byPosition(a: EventSqlRow, b: EventSqlRow): number {
  const xid = BigInt(a.xid) - BigInt(b.xid);
  if (xid !== 0n) return xid < 0n ? -1 : 1;
  const seq = BigInt(a.seq) - BigInt(b.seq);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}
