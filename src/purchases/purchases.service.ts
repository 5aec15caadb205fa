import { Injectable, Optional } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Caller } from '../common/auth/caller';
import { ForbiddenError, RequestValidationError } from '../common/errors/domain-errors';
import { AppConfig } from '../config/app-config';
import { isDatabaseUnavailableError } from '../db/postgres-errors';
import { IdempotencyService, IdempotentOutcome } from '../idempotency/idempotency.service';
import { MetricsService } from '../metrics/metrics.service';
import { requestFingerprint } from '../idempotency/request-fingerprint';
import { WalletsService } from '../wallets/wallets.service';
import { HoldsService } from '../holds/holds.service';
import { PURCHASE_REFUNDS_LISTED_MAX, PurchaseDto, toHoldPurchaseDto, toPurchaseDto } from './dto/purchase.dto';
import { PURCHASE_PAGE_LIMIT_DEFAULT, PurchasePageDto } from './dto/purchase-search.dto';
import { decodePurchaseCursor, encodePurchaseCursor } from './purchase-cursor';
import { parseInstant } from '../reports/report-period';
import { PurchaseNotFoundError, SelfPurchaseError } from './purchase.errors';
import { Batcher } from '../common/batching/batcher';
import { ExecutedPurchase, ExecutePurchaseCall, PurchasesRepository } from './purchases.repository';
import { RefundsRepository } from './refunds.repository';
import { assertSplitInvariants } from './royalty-split';

export interface PurchaseRequest {
  buyerWalletId: string;
  /** Absent when itemId's royalty terms name the payees. */
  authorWalletId?: string;
  itemPriceCents: number;
  idempotencyKey: string;
  itemId?: string;
  metadata?: Record<string, string>;
  /** false: authorize a hold instead (ADR 0018). */
  capture?: boolean;
}

export interface PurchaseSearchRequest {
  buyerWalletId?: string;
  authorWalletId?: string;
  itemId?: string;
  from?: string;
  to?: string;
  cursor?: string;
  limit?: string;
}

@Injectable()
export class PurchasesService {
  /**
   * Group commit: concurrent purchases share transactions; one author's purchases share a
   * lane, so its wallet row is locked once per batch rather than once per purchase.
   */
  private readonly batcher: Batcher<ExecutePurchaseCall, ExecutedPurchase>;

  constructor(
    private readonly repository: PurchasesRepository,
    private readonly refunds: RefundsRepository,
    private readonly wallets: WalletsService,
    private readonly idempotency: IdempotencyService,
    private readonly config: AppConfig,
    private readonly holds: HoldsService,
    @Optional() metrics?: MetricsService,
  ) {
    this.batcher = new Batcher(
      {
        // Lanes bound the purchase transactions in flight (each holds one pooled connection);
        // the batch size bounds a batch's lock time and statement size.
        lanes: config.purchaseBatching.lanes,
        batchSizeMax: config.purchaseBatching.batchSizeMax,
        // A split purchase's payees are its item's: the item stands in for the author.
        laneKey: (call) => call.authorWalletId ?? `item:${call.itemId}`,
        dedupeKey: (call) => `${call.userId}:${call.idempotencyKey}`,
        // During an outage the queue fails with the batch: one bounded wait, not one per batch (ADR 0038).
        failQueuedOn: isDatabaseUnavailableError,
        observer: metrics?.batchObserver('purchase'),
      },
      (calls) => this.repository.executeBatch(calls),
    );
  }

  async purchase(
    caller: Caller,
    { buyerWalletId, authorWalletId, itemPriceCents, idempotencyKey, itemId, metadata, capture }: PurchaseRequest,
  ): Promise<IdempotentOutcome<PurchaseDto>> {
    // itemId and metadata join the fingerprint only when sent, so a plain purchase keeps the
    // fingerprint it always had (keys stored before them still replay).
    const fingerprint = requestFingerprint('purchase', {
      buyerWalletId,
      ...(authorWalletId === undefined ? {} : { authorWalletId }),
      itemPrice: itemPriceCents,
      ...(itemId === undefined ? {} : { itemId }),
      ...(metadata === undefined ? {} : { metadata }),
      ...(capture === false ? { capture } : {}),
    });
    if (capture === false) {
      // A hold: the same key scope as purchases, its own transaction (hold_authorize), no batching.
      return this.idempotency.execute({ callerId: caller.userId, operation: 'purchase', key: idempotencyKey }, fingerprint, async () => {
        const held = await this.holds.authorize(caller, {
          buyerWalletId,
          authorWalletId,
          itemPriceCents,
          idempotencyKey,
          requestHash: fingerprint,
          itemId,
          metadata,
        });
        return { ...held, body: toHoldPurchaseDto(held.body) };
      });
    }
    return this.idempotency.execute(
      { callerId: caller.userId, operation: 'purchase', key: idempotencyKey },
      fingerprint,
      async () => {
        // Checked before the database only to answer fast; purchase_execute_batch checks it too.
        if (buyerWalletId === authorWalletId) throw new SelfPurchaseError();
        const executed = await this.batcher.submit({
          purchaseId: randomUUID(),
          userId: caller.userId,
          idempotencyKey,
          requestHash: fingerprint,
          buyerWalletId,
          authorWalletId: authorWalletId ?? null,
          itemPriceCents,
          royaltyPercent: this.config.authorRoyaltyPercent,
          platformWalletId: this.wallets.platformWalletId,
          itemId: itemId ?? null,
          metadata: metadata ?? null,
        });
        assertPurchaseSplit(executed);
        return { body: toPurchaseDto(executed), replayed: executed.replayed, storedFingerprint: executed.requestHash };
      },
    );
  }

  /**
   * Captures a hold (all of it, or `amountCents`): 200 with the completed purchase (ADR 0018). The
   * capture happens once whatever the key (the hold row's lock decides); a key only lets a retry
   * replay the answer, for as long as Redis keeps it, instead of answering 409.
   */
  async capture(
    caller: Caller,
    { purchaseId, amountCents, idempotencyKey }: { purchaseId: string; amountCents: number | undefined; idempotencyKey: string | undefined },
  ): Promise<IdempotentOutcome<PurchaseDto>> {
    const fingerprint = requestFingerprint('capture', { purchaseId, ...(amountCents === undefined ? {} : { amount: amountCents }) });
    const run = async () => {
      await this.holds.capture(caller, purchaseId, amountCents);
      return { body: await this.getPurchase(caller, purchaseId), replayed: false, storedFingerprint: fingerprint };
    };
    if (idempotencyKey === undefined) return this.idempotency.executeWithoutKey('capture', run);
    return this.idempotency.execute({ callerId: caller.userId, operation: 'capture', key: idempotencyKey }, fingerprint, run);
  }

  /** Voids a hold: the money goes back to the buyer. Keys replay as for capture. */
  async void(
    caller: Caller,
    { purchaseId, idempotencyKey }: { purchaseId: string; idempotencyKey: string | undefined },
  ): Promise<IdempotentOutcome<PurchaseDto>> {
    const fingerprint = requestFingerprint('void', { purchaseId });
    const run = async () => ({
      body: toHoldPurchaseDto(await this.holds.void(caller, purchaseId)),
      replayed: false,
      storedFingerprint: fingerprint,
    });
    if (idempotencyKey === undefined) return this.idempotency.executeWithoutKey('void', run);
    return this.idempotency.execute({ callerId: caller.userId, operation: 'void', key: idempotencyKey }, fingerprint, run);
  }

  /** Buyer, author or admin; anyone else gets the same 404 as for a purchase that does not exist. */
  async getPurchase(caller: Caller, purchaseId: string): Promise<PurchaseDto> {
    const purchase = await this.repository.findWithParties(purchaseId);
    if (purchase === undefined) {
      // A hold not captured (authorized, voided, expired) is a purchase without its split yet.
      const hold = await this.holds.findReadable(caller, purchaseId);
      if (hold && hold.status !== 'captured') return toHoldPurchaseDto(hold);
    }
    const mayRead =
      purchase !== undefined &&
      (caller.isAdmin ||
        purchase.buyerUserId === caller.userId ||
        purchase.authorUserId === caller.userId ||
        purchase.payeeUserIds.includes(caller.userId));
    if (!mayRead) throw new PurchaseNotFoundError();
    const { refundedCents, refunds } = await this.refunds.refundsOf(purchaseId, PURCHASE_REFUNDS_LISTED_MAX);
    return toPurchaseDto(purchase, refunds, refundedCents);
  }

  /**
   * Purchases newest first. A non-admin must name a wallet it owns (as buyer or author); someone
   * else's wallet is the same 404 as a wallet that does not exist, and an item alone is admins' only.
   */
  async search(caller: Caller, query: PurchaseSearchRequest): Promise<PurchasePageDto> {
    const buyerWalletId = query.buyerWalletId?.toLowerCase();
    const authorWalletId = query.authorWalletId?.toLowerCase();
    if (!caller.isAdmin) {
      if (buyerWalletId === undefined && authorWalletId === undefined) {
        throw new ForbiddenError('Name buyerWalletId or authorWalletId (a wallet of yours); other searches are for administrators');
      }
      for (const walletId of [buyerWalletId, authorWalletId]) {
        if (walletId !== undefined) await this.wallets.getWallet(caller, walletId);
      }
    }
    const from = query.from === undefined ? undefined : parseInstantField('from', query.from);
    const to = query.to === undefined ? undefined : parseInstantField('to', query.to);
    if (from && to && from.getTime() >= to.getTime()) {
      throw new RequestValidationError([{ field: 'to', message: 'to must be later than from' }]);
    }
    const limit = query.limit === undefined ? PURCHASE_PAGE_LIMIT_DEFAULT : Number(query.limit);
    // One extra row tells whether another page follows without a count query.
    const rows = await this.repository.search({
      buyerWalletId,
      authorWalletId,
      itemId: query.itemId,
      from,
      to,
      before: query.cursor === undefined ? undefined : decodePurchaseCursor(query.cursor),
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const refunds = await this.refunds.refundsOfMany(
      page.map((row) => row.id),
      PURCHASE_REFUNDS_LISTED_MAX,
    );
    return {
      items: page.map((row) => {
        const refunded = refunds.get(row.id)!;
        return toPurchaseDto(row, refunded.refunds, refunded.refundedCents);
      }),
      nextCursor: rows.length > limit ? encodePurchaseCursor(page[page.length - 1]!) : null,
    };
  }
}

function parseInstantField(field: 'from' | 'to', value: string): Date {
  const instant = parseInstant(value);
  if (!instant) throw new RequestValidationError([{ field, message: `${field} must be an ISO 8601 date or date-time with an offset` }]);
  return instant;
}

/** The database computed the split; the same identities must hold here, or something is badly wrong. */
function assertPurchaseSplit(purchase: ExecutedPurchase): void {
  const paidCents = purchase.payees.reduce((sum, payee) => sum + payee.amountCents, 0);
  if (paidCents !== purchase.authorAmountCents) {
    throw new Error(`payee amounts do not add up to the author side: ${JSON.stringify(purchase)}`);
  }
  if (purchase.royaltyTermsVersion !== null) {
    // The carries are summed over the payees, so the whole obeys the one-author identities.
    const exact =
      purchase.authorAmountCents + purchase.platformAmountCents === purchase.itemPriceCents &&
      100 * purchase.authorAmountCents + purchase.carryAfterCentiCents ===
        purchase.itemPriceCents * purchase.royaltyPercent + purchase.carryBeforeCentiCents;
    if (!exact) throw new Error(`split purchase identities broken: ${JSON.stringify(purchase)}`);
    return;
  }
  assertSplitInvariants(
    {
      itemPriceCents: purchase.itemPriceCents,
      royaltyPercent: purchase.royaltyPercent,
      carryBeforeCentiCents: purchase.carryBeforeCentiCents,
    },
    {
      authorAmountCents: purchase.authorAmountCents,
      platformAmountCents: purchase.platformAmountCents,
      carryAfterCentiCents: purchase.carryAfterCentiCents,
    },
  );
}
