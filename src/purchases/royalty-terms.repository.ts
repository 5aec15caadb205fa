import { Injectable } from '@nestjs/common';
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import { Database, Tx } from '../db/database';
import { royaltyTerms, wallets } from '../db/schema';

export interface RoyaltyTermsRow {
  itemId: string;
  version: number;
  royaltyPercent: number;
  payeeWalletIds: string[];
  payeeSharesBps: number[];
  createdAt: Date;
}

const TERMS_COLUMNS = {
  itemId: royaltyTerms.itemId,
  version: royaltyTerms.version,
  royaltyPercent: royaltyTerms.royaltyPercent,
  payeeWalletIds: royaltyTerms.payeeWalletIds,
  payeeSharesBps: royaltyTerms.payeeSharesBps,
  createdAt: royaltyTerms.createdAt,
};

@Injectable()
export class RoyaltyTermsRepository {
  constructor(private readonly database: Database) {}

  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return this.database.transaction(work);
  }

  async current(itemId: string, tx?: Tx): Promise<RoyaltyTermsRow | undefined> {
    const [row] = await (tx ?? this.database.db)
      .select(TERMS_COLUMNS)
      .from(royaltyTerms)
      .where(eq(royaltyTerms.itemId, itemId))
      .orderBy(desc(royaltyTerms.version))
      .limit(1);
    return row;
  }

  /** Serialises the writers of one item's terms until the transaction ends, so versions follow each other. */
  async lockItem(tx: Tx, itemId: string): Promise<void> {
    await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${`royalty-terms:${itemId}`}, 0))`);
  }

  async insertVersion(
    tx: Tx,
    terms: { itemId: string; version: number; royaltyPercent: number; payeeWalletIds: string[]; payeeSharesBps: number[]; createdBy: string },
  ): Promise<RoyaltyTermsRow> {
    const [row] = await tx
      .insert(royaltyTerms)
      .values({ ...terms, createdAt: sql`now()::timestamptz(3)` as unknown as Date })
      .returning(TERMS_COLUMNS);
    return row!;
  }

  /** Which of these wallets exist. */
  async existingWalletIds(walletIds: string[]): Promise<Set<string>> {
    if (walletIds.length === 0) return new Set();
    const rows = await this.database.db.select({ id: wallets.id }).from(wallets).where(and(inArray(wallets.id, walletIds)));
    return new Set(rows.map((row) => row.id));
  }
}
