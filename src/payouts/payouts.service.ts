import { Injectable, Optional } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Caller } from '../common/auth/caller';
import { DomainError, ForbiddenError } from '../common/errors/domain-errors';
import { AppConfig } from '../config/app-config';
import { IdempotencyService, IdempotentOutcome } from '../idempotency/idempotency.service';
import { requestFingerprint } from '../idempotency/request-fingerprint';
import { MetricsService } from '../metrics/metrics.service';
import { WalletsService } from '../wallets/wallets.service';
import { PayoutRunDto, toPayoutRunDto } from './dto/payout-run.dto';
import {
  StoredPayoutDestinationDto,
  toWithdrawalDto,
  WITHDRAWAL_PAGE_LIMIT_DEFAULT,
  WithdrawalDto,
  WithdrawalPageDto,
} from './dto/withdrawal.dto';
import { PayoutBelowMinimumError, WithdrawalNotFoundError, WithdrawalNotPendingError } from './payout.errors';
import { PayoutsRepository, WithdrawalStatus } from './payouts.repository';
import { PAYOUT_SCHEDULE_REQUESTER_ID, scheduledPayoutRunKey } from './payout-schedule';
import { decodeWithdrawalCursor, encodeWithdrawalCursor } from './withdrawal-cursor';

/** Wallets a payout run locks and pays in one transaction; a run is as many chunks as it needs. */
export const PAYOUT_RUN_CHUNK_WALLETS = 200;
/** A run stops after this many chunks (a million wallets); running it again with its key resumes it. */
const PAYOUT_RUN_CHUNKS_MAX = 5_000;

/**
 * Payouts with a lifecycle (ADR 0018): a withdrawal leaves the balance at once and waits in the
 * payouts_pending account until the payment rail settles it or it fails back to the wallet.
 */
@Injectable()
export class PayoutsService {
  constructor(
    private readonly repository: PayoutsRepository,
    private readonly wallets: WalletsService,
    private readonly idempotency: IdempotencyService,
    private readonly config: AppConfig,
    @Optional() private readonly metrics?: MetricsService,
  ) {}

  async withdraw(
    caller: Caller,
    call: { walletId: string; amountCents: number; destination: string | undefined; idempotencyKey: string },
  ): Promise<IdempotentOutcome<WithdrawalDto>> {
    // The destination is part of the payload: the same key with another destination is a 422.
    const fingerprint = requestFingerprint('withdrawal', {
      walletId: call.walletId,
      amount: call.amountCents,
      ...(call.destination === undefined ? {} : { destination: call.destination }),
    });
    return this.idempotency.execute(
      { callerId: caller.userId, operation: 'withdrawal', key: call.idempotencyKey },
      fingerprint,
      async () => {
        if (call.amountCents < this.config.payoutMinimumCents) throw new PayoutBelowMinimumError(this.config.payoutMinimumCents);
        const result = await this.repository.withdraw({
          withdrawalId: randomUUID(),
          userId: caller.userId,
          idempotencyKey: call.idempotencyKey,
          requestHash: fingerprint,
          walletId: call.walletId,
          amountCents: call.amountCents,
          destination: call.destination,
        });
        return { body: toWithdrawalDto(result.row), replayed: result.replayed, storedFingerprint: result.requestHash };
      },
    );
  }

  /** The wallet's owner or an admin; anyone else gets the same 404 as for an unknown id. */
  async getWithdrawal(caller: Caller, withdrawalId: string): Promise<WithdrawalDto> {
    const row = await this.repository.findWithdrawal(withdrawalId);
    if (!row || (row.userId !== caller.userId && !caller.isAdmin)) throw new WithdrawalNotFoundError();
    return toWithdrawalDto(row);
  }

  async listWithdrawals(
    caller: Caller,
    walletId: string,
    query: { status?: WithdrawalStatus; limit?: string; cursor?: string },
  ): Promise<WithdrawalPageDto> {
    await this.wallets.getWallet(caller, walletId);
    const limit = query.limit === undefined ? WITHDRAWAL_PAGE_LIMIT_DEFAULT : Number(query.limit);
    const before = query.cursor === undefined ? undefined : decodeWithdrawalCursor(query.cursor);
    // One extra row tells whether another page follows without a count query.
    const rows = await this.repository.withdrawalPage({ walletId, status: query.status, before, limit: limit + 1 });
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      items: page.map(toWithdrawalDto),
      nextCursor: rows.length > limit && last ? encodeWithdrawalCursor(last) : null,
    };
  }

  /** The payment rail paid it: pending -> paid, once. */
  settle(caller: Caller, withdrawalId: string): Promise<WithdrawalDto> {
    return this.resolve(caller, { withdrawalId, status: 'paid', reason: undefined });
  }

  /** The payment rail refused it: pending -> failed, and the money goes back to the wallet, once. */
  fail(caller: Caller, withdrawalId: string, reason: string): Promise<WithdrawalDto> {
    return this.resolve(caller, { withdrawalId, status: 'failed', reason });
  }

  /** The wallet's owner, or an admin (the back office); anyone else gets 404. */
  async setDestination(caller: Caller, walletId: string, destination: string): Promise<StoredPayoutDestinationDto> {
    await this.wallets.getWallet(caller, walletId);
    const stored = await this.repository.setDestination(walletId, destination);
    return { walletId, destination: stored.destination, updatedAt: stored.updatedAt };
  }

  /**
   * A pending payout for every wallet at or above PAYOUT_MINIMUM_CENTS with a destination. The
   * run is named by the caller's key: the same key again resumes or replays it, never paying a
   * wallet twice (each payout's key names the run); two different runs at once pay each wallet
   * once as well, since the second finds the balance already gone.
   */
  async startPayoutRun(caller: Caller, idempotencyKey: string): Promise<{ body: PayoutRunDto; replayed: boolean }> {
    if (!caller.isAdmin) throw new ForbiddenError();
    return this.executeRun({ requestedBy: caller.userId, idempotencyKey });
  }

  /**
   * The scheduled run of the period starting at `periodStartMs` (PAYOUT_RUN_EVERY). Its key is
   * the period's start under the schedule's own requester, so every worker that runs the
   * period's job, or runs it again after a crash, resumes the same run and pays each wallet once.
   */
  runScheduled(periodStartMs: number): Promise<{ body: PayoutRunDto; replayed: boolean }> {
    return this.executeRun({ requestedBy: PAYOUT_SCHEDULE_REQUESTER_ID, idempotencyKey: scheduledPayoutRunKey(periodStartMs) });
  }

  private async executeRun(call: { requestedBy: string; idempotencyKey: string }): Promise<{ body: PayoutRunDto; replayed: boolean }> {
    try {
      const { run, created } = await this.repository.startRun({
        runId: randomUUID(),
        requestedBy: call.requestedBy,
        idempotencyKey: call.idempotencyKey,
        minimumCents: this.config.payoutMinimumCents,
      });
      if (run.completedAt !== null) {
        this.metrics?.recordOperation('payout_run', 'replayed');
        return { body: toPayoutRunDto({ ...run, completedAt: run.completedAt }), replayed: true };
      }
      let afterWalletId: string | undefined;
      for (let chunk = 0; chunk < PAYOUT_RUN_CHUNKS_MAX; chunk++) {
        const step = await this.repository.runChunk({
          runId: run.id,
          minimumCents: run.minimumCents,
          afterWalletId,
          limit: PAYOUT_RUN_CHUNK_WALLETS,
        });
        if (step.walletsExamined < PAYOUT_RUN_CHUNK_WALLETS || step.lastWalletId === null) break;
        afterWalletId = step.lastWalletId;
      }
      const completed = await this.repository.completeRun(run.id);
      this.metrics?.recordOperation('payout_run', created ? 'completed' : 'replayed');
      return { body: toPayoutRunDto(completed), replayed: !created };
    } catch (error) {
      this.metrics?.recordOperation('payout_run', error instanceof DomainError ? 'rejected' : 'failed');
      throw error;
    }
  }

  private async resolve(
    caller: Caller,
    call: { withdrawalId: string; status: 'paid' | 'failed'; reason: string | undefined },
  ): Promise<WithdrawalDto> {
    const operation = call.status === 'paid' ? 'withdrawal_settle' : 'withdrawal_fail';
    if (!caller.isAdmin) throw new ForbiddenError();
    try {
      const result = await this.repository.resolve({ outcomeId: randomUUID(), resolvedBy: caller.userId, ...call });
      if (result.outcome === 'withdrawal_not_found') throw new WithdrawalNotFoundError();
      if (result.outcome === 'not_pending') throw new WithdrawalNotPendingError(result.withdrawal.status);
      this.metrics?.recordOperation(operation, 'completed');
      return toWithdrawalDto(result.withdrawal);
    } catch (error) {
      this.metrics?.recordOperation(operation, error instanceof DomainError ? 'rejected' : 'failed');
      throw error;
    }
  }
}
