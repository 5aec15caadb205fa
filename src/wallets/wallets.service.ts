import { Injectable, Logger, OnApplicationBootstrap, Optional } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Batcher } from '../common/batching/batcher';
import { Caller } from '../common/auth/caller';
import { AppConfig } from '../config/app-config';
import { isDatabaseUnavailableError } from '../db/postgres-errors';
import { IdempotencyService, IdempotentOutcome } from '../idempotency/idempotency.service';
import { requestFingerprint } from '../idempotency/request-fingerprint';
import { MetricsService } from '../metrics/metrics.service';
import { LEDGER_PAGE_LIMIT_DEFAULT, LedgerPageDto, toLedgerEntryDto } from './dto/ledger.dto';
import { BalanceAtDto, STATEMENT_COLUMNS } from './dto/statement.dto';
import { RequestValidationError } from '../common/errors/domain-errors';
import { parseInstant } from '../reports/report-period';
import { toWalletDto, WalletDto } from './dto/wallet.dto';
import { decodeLedgerCursor, encodeLedgerCursor } from './ledger-cursor';
import { WalletNotFoundError } from './wallet.errors';
import { DepositRow, MoneyCall, StatementRow, WalletRow, WalletsRepository } from './wallets.repository';

@Injectable()
export class WalletsService implements OnApplicationBootstrap {
  private readonly logger = new Logger(WalletsService.name);
  private platformWallet: WalletRow | undefined;
  /** Group commit for deposits, with the purchases' settings (ADR 0014). */
  private readonly deposits: Batcher<MoneyCall, DepositRow>;

  constructor(
    private readonly repository: WalletsRepository,
    private readonly idempotency: IdempotencyService,
    private readonly config: AppConfig,
    @Optional() metrics?: MetricsService,
  ) {
    this.deposits = new Batcher(
      {
        lanes: config.purchaseBatching.lanes,
        batchSizeMax: config.purchaseBatching.batchSizeMax,
        laneKey: (call) => call.walletId,
        // Deposits without a key never collide; their operation id keeps them apart.
        dedupeKey: (call) => `${call.userId}:${call.idempotencyKey ?? call.operationId}`,
        // During an outage the queue fails with the batch: one bounded wait, not one per batch (ADR 0038).
        failQueuedOn: isDatabaseUnavailableError,
        observer: metrics?.batchObserver('deposit'),
      },
      (calls) => this.repository.depositBatch(calls),
    );
  }

  /** Seeds the platform account and its wallet (idempotent; every instance may do it). */
  async onApplicationBootstrap(): Promise<void> {
    const { wallet, created } = await this.repository.createForUser(this.config.platformAccountId);
    this.platformWallet = wallet;
    if (created) this.logger.log({ walletId: wallet.id }, 'platform wallet created');
  }

  /** The wallet that receives the platform's share of every purchase. */
  get platformWalletId(): string {
    if (!this.platformWallet) throw new Error('platform wallet not seeded yet');
    return this.platformWallet.id;
  }

  async createWallet(caller: Caller): Promise<{ wallet: WalletDto; created: boolean }> {
    const { wallet, created } = await this.repository.createForUser(caller.userId);
    return { wallet: toWalletDto(wallet), created };
  }

  async getWallet(caller: Caller, walletId: string): Promise<WalletDto> {
    return toWalletDto(await this.readableWallet(caller, walletId));
  }

  async ledger(
    caller: Caller,
    walletId: string,
    query: { limit?: string; cursor?: string; type?: string; from?: string; to?: string },
  ): Promise<LedgerPageDto> {
    await this.readableWallet(caller, walletId);
    const limit = query.limit === undefined ? LEDGER_PAGE_LIMIT_DEFAULT : Number(query.limit);
    const before = query.cursor === undefined ? undefined : decodeLedgerCursor(query.cursor);
    const from = query.from === undefined ? undefined : parseInstantField('from', query.from);
    const to = query.to === undefined ? undefined : parseInstantField('to', query.to);
    if (from && to && from.getTime() >= to.getTime()) {
      throw new RequestValidationError([{ field: 'to', message: 'to must be later than from' }]);
    }
    // One extra row tells whether another page follows without a count query.
    const rows = await this.repository.ledgerPage(walletId, before, limit + 1, { type: query.type, from, to });
    const page = rows.slice(0, limit);
    return {
      items: page.map(toLedgerEntryDto),
      nextCursor: rows.length > limit ? encodeLedgerCursor(page[page.length - 1]!) : null,
    };
  }

  /** Balance and carry as they were at an instant (ADR 0046). */
  async balanceAt(caller: Caller, walletId: string, atText: string): Promise<BalanceAtDto> {
    await this.readableWallet(caller, walletId);
    const at = parseInstantField('at', atText);
    const { balanceCents, carryCentiCents } = await this.repository.positionAt(walletId, at);
    return { walletId, at, balance: balanceCents, fractionalBalance: carryCentiCents };
  }

  /**
   * The wallet's postings in [from, to) as CSV records, oldest first: an opening balance row, one
   * row per posting with the running balance, a closing balance row. Checks come first, so a bad
   * request is a 400 before any byte of CSV.
   */
  async statement(caller: Caller, walletId: string, query: { from?: string; to?: string }): Promise<AsyncIterable<StatementRecord>> {
    await this.readableWallet(caller, walletId);
    const from = query.from === undefined ? undefined : parseInstantField('from', query.from);
    const to = query.to === undefined ? undefined : parseInstantField('to', query.to);
    if (from && to && from.getTime() >= to.getTime()) {
      throw new RequestValidationError([{ field: 'to', message: 'to must be later than from' }]);
    }
    const rows = this.repository.statement(walletId, { from, to }, STATEMENT_BATCH_ROWS);
    return statementRecords(rows, { from, to: to ?? new Date() });
  }

  /** Deposits are idempotent only when the client sends a key. */
  async deposit(
    caller: Caller,
    { walletId, amountCents, idempotencyKey }: { walletId: string; amountCents: number; idempotencyKey?: string },
  ): Promise<IdempotentOutcome<WalletDto>> {
    const fingerprint = requestFingerprint('deposit', { walletId, amount: amountCents });
    const execute = async () => {
      const result = await this.deposits.submit({
        operationId: randomUUID(),
        userId: caller.userId,
        idempotencyKey,
        requestHash: fingerprint,
        walletId,
        amountCents,
      });
      return { body: toWalletDto(result.wallet), replayed: result.replayed, storedFingerprint: result.requestHash };
    };
    if (idempotencyKey === undefined) return this.idempotency.executeWithoutKey('deposit', execute);
    return this.idempotency.execute({ callerId: caller.userId, operation: 'deposit', key: idempotencyKey }, fingerprint, execute);
  }

  /** Owner or admin; anyone else learns nothing, not even that the wallet exists. */
  private async readableWallet(caller: Caller, walletId: string): Promise<WalletRow> {
    const wallet = await this.repository.findById(walletId);
    if (!wallet || (wallet.userId !== caller.userId && !caller.isAdmin)) throw new WalletNotFoundError();
    return wallet;
  }
}

function parseInstantField(field: 'from' | 'to' | 'at', value: string): Date {
  const instant = parseInstant(value);
  if (!instant) throw new RequestValidationError([{ field, message: `${field} must be an ISO 8601 date or date-time with an offset` }]);
  return instant;
}

/** Rows fetched per round trip while a statement streams. */
const STATEMENT_BATCH_ROWS = 1_000;

export type StatementRecord = Record<(typeof STATEMENT_COLUMNS)[number], string | number | null>;

async function* statementRecords(
  rows: AsyncGenerator<{ openingCents: number } | StatementRow[]>,
  period: { from?: Date; to: Date },
): AsyncGenerator<StatementRecord> {
  let balanceCents = 0;
  for await (const chunk of rows) {
    if (!Array.isArray(chunk)) {
      balanceCents = chunk.openingCents;
      yield { createdAt: period.from?.toISOString() ?? null, type: 'opening_balance', amount: null, balance: balanceCents, id: null, transactionId: null, purchaseId: null };
      continue;
    }
    for (const row of chunk) {
      balanceCents += row.amountCents;
      yield {
        createdAt: row.createdAt.toISOString(),
        type: row.type,
        amount: row.amountCents,
        balance: balanceCents,
        id: row.id,
        transactionId: row.transactionId,
        purchaseId: row.purchaseId,
      };
    }
  }
  yield { createdAt: period.to.toISOString(), type: 'closing_balance', amount: null, balance: balanceCents, id: null, transactionId: null, purchaseId: null };
}
