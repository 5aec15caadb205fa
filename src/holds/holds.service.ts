import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy, Optional } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Caller } from '../common/auth/caller';
import { DomainError, NotFoundError, RequestValidationError } from '../common/errors/domain-errors';
import { AppConfig } from '../config/app-config';
import { ExecutionResult } from '../idempotency/idempotency.service';
import { MetricsService } from '../metrics/metrics.service';
import { WalletsService } from '../wallets/wallets.service';
import { CaptureExceedsAuthorizedError, PurchaseNotAuthorizedError } from './hold.errors';
import { HoldsRepository, HoldView, TransitionOutcome } from './holds.repository';

/** Expired holds one sweep voids at most; the next sweep takes the rest. */
const SWEEP_BATCH_MAX = 200;

export interface AuthorizeRequest {
  buyerWalletId: string;
  authorWalletId: string | undefined;
  itemPriceCents: number;
  idempotencyKey: string;
  requestHash: string;
  itemId: string | undefined;
  metadata: Record<string, string> | undefined;
}

class HoldNotFoundError extends NotFoundError {
  constructor() {
    super('purchase', 'PURCHASE_NOT_FOUND');
  }
}

/**
 * Purchase holds (ADR 0018): authorize, capture, void, and expiry by the workers. The expiry
 * sweeper reads the holds table, so a hold is voided however the process that authorized it
 * ended; every worker sweeps, and the hold row's lock lets exactly one transition win.
 */
@Injectable()
export class HoldsService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(HoldsService.name);
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;

  constructor(
    private readonly repository: HoldsRepository,
    private readonly wallets: WalletsService,
    private readonly config: AppConfig,
    @Optional() private readonly metrics?: MetricsService,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.role === 'api') return;
    this.sweepTimer = setInterval(() => {
      this.sweeping ??= this.sweepExpired()
        .then(() => undefined)
        .catch((error: unknown) => this.logger.warn({ err: error }, 'hold expiry sweep failed; the next one retries'))
        .finally(() => (this.sweeping = undefined));
    }, this.config.holds.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.sweepTimer);
    await this.sweeping;
  }

  /** The body of a purchase with `capture: false`, run inside the purchase's idempotency scope. */
  async authorize(caller: Caller, request: AuthorizeRequest): Promise<ExecutionResult<HoldView>> {
    const result = await this.repository.authorize({
      holdId: randomUUID(),
      authorizationId: randomUUID(),
      userId: caller.userId,
      idempotencyKey: request.idempotencyKey,
      requestHash: request.requestHash,
      buyerWalletId: request.buyerWalletId,
      authorWalletId: request.authorWalletId ?? null,
      amountCents: request.itemPriceCents,
      expiresAt: new Date(Date.now() + this.config.holds.ttlMs),
      itemId: request.itemId,
      metadata: request.metadata,
    });
    // The same answers as an immediate purchase of the item (purchase_execute_batch's refusals).
    switch (result.outcome) {
      case 'self_purchase':
        throw new DomainError('bad_request', 'SELF_PURCHASE', 'buyerWalletId and authorWalletId must be different wallets');
      case 'author_not_found':
        throw new DomainError('bad_request', 'AUTHOR_WALLET_NOT_FOUND', 'authorWalletId does not name an existing wallet');
      case 'author_required':
        throw new RequestValidationError([{ field: 'authorWalletId', message: 'authorWalletId is required unless itemId has royalty terms' }]);
      case 'author_not_payee':
        throw new RequestValidationError([{ field: 'authorWalletId', message: "authorWalletId is not a payee of the item's royalty terms" }]);
    }
    this.metrics?.recordOperation('hold_authorize', result.outcome === 'replayed' ? 'replayed' : 'completed');
    return { body: result.hold, replayed: result.outcome === 'replayed', storedFingerprint: result.requestHash };
  }

  /** Captures all of the hold, or `amountCents` of it (the rest goes back to the buyer). */
  async capture(caller: Caller, holdId: string, amountCents: number | undefined): Promise<HoldView> {
    // Paid from the held money (ADR 0018): no refusal for funds. A purchase refused anyway (a
    // wallet gone) raises HC001 in hold_capture and rolls back: an invariant broken, not bad input.
    const result = await this.repository.capture({
      holdId,
      releaseId: randomUUID(),
      amountCents,
      actor: { userId: caller.userId, isAdmin: caller.isAdmin },
      royaltyPercent: this.config.authorRoyaltyPercent,
      platformWalletId: this.wallets.platformWalletId,
    });
    return this.settled('hold_capture', result);
  }

  async void(caller: Caller, holdId: string): Promise<HoldView> {
    const result = await this.repository.release({
      holdId,
      releaseId: randomUUID(),
      status: 'voided',
      actor: { userId: caller.userId, isAdmin: caller.isAdmin },
    });
    return this.settled('hold_void', result);
  }

  /** The hold as a purchase, for its buyer, its author or payees, or an admin; undefined when there is none. */
  async findReadable(caller: Caller, holdId: string): Promise<HoldView | undefined> {
    const found = await this.repository.findHold(holdId);
    if (!found) return undefined;
    return caller.isAdmin || found.userId === caller.userId || found.payeeUserIds.includes(caller.userId) ? found.hold : undefined;
  }

  /** Voids every hold whose expires_at has passed, a batch at a time. */
  async sweepExpired(): Promise<number> {
    let expired = 0;
    for (const holdId of await this.repository.dueHoldIds(SWEEP_BATCH_MAX)) {
      const result = await this.repository.release({ holdId, releaseId: randomUUID(), status: 'expired', actor: { userId: null, isAdmin: true } });
      if (result.outcome === 'released') expired += 1;
    }
    if (expired > 0) {
      this.metrics?.recordOperation('hold_expire', 'completed');
      this.logger.log({ expired }, 'expired holds voided');
    }
    return expired;
  }

  private settled(operation: string, result: TransitionOutcome): HoldView {
    switch (result.outcome) {
      case 'captured':
      case 'released':
        this.metrics?.recordOperation(operation, 'completed');
        return result.hold;
      case 'hold_not_found':
        this.metrics?.recordOperation(operation, 'rejected');
        throw new HoldNotFoundError();
      case 'exceeds_hold':
        this.metrics?.recordOperation(operation, 'rejected');
        throw new CaptureExceedsAuthorizedError(result.hold.itemPrice);
      default:
        this.metrics?.recordOperation(operation, 'conflict');
        throw new PurchaseNotAuthorizedError(result.hold.status === 'authorized' ? 'expired' : result.hold.status);
    }
  }
}

