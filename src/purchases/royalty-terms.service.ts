import { Injectable } from '@nestjs/common';
import { Caller } from '../common/auth/caller';
import { ForbiddenError, NotFoundError, RequestValidationError } from '../common/errors/domain-errors';
import { AppConfig } from '../config/app-config';
import { ITEM_ID_PATTERN } from './dto/purchase.dto';
import { RoyaltyTermsDto, toRoyaltyTermsDto } from './dto/royalty-terms.dto';
import { SHARE_BASIS_POINTS_TOTAL } from './royalty-split';
import { RoyaltyTermsRepository } from './royalty-terms.repository';

export class RoyaltyTermsNotFoundError extends NotFoundError {
  constructor() {
    super('royalty terms', 'ROYALTY_TERMS_NOT_FOUND');
  }
}

export interface RoyaltyTermsRequest {
  royaltyPercent?: number;
  payees: { walletId: string; share: number }[];
}

/**
 * Royalty terms per item (ADR 0045), set by admins. Each change is a new version; purchases
 * record the version they used, so a change never alters a past purchase or its refunds.
 */
@Injectable()
export class RoyaltyTermsService {
  constructor(
    private readonly repository: RoyaltyTermsRepository,
    private readonly config: AppConfig,
  ) {}

  /** A new version, unless the terms in force are already exactly these (a repeated PUT changes nothing). */
  async put(caller: Caller, itemId: string, request: RoyaltyTermsRequest): Promise<{ terms: RoyaltyTermsDto; created: boolean }> {
    if (!caller.isAdmin) throw new ForbiddenError();
    checkItemId(itemId);
    const payeeWalletIds = request.payees.map((payee) => payee.walletId.toLowerCase());
    const payeeSharesBps = request.payees.map((payee) => payee.share);
    if (new Set(payeeWalletIds).size !== payeeWalletIds.length) {
      throw new RequestValidationError([{ field: 'payees', message: 'payees must name distinct wallets' }]);
    }
    const sharesBps = payeeSharesBps.reduce((sum, share) => sum + share, 0);
    if (sharesBps !== SHARE_BASIS_POINTS_TOTAL) {
      throw new RequestValidationError([
        { field: 'payees', message: `the payees' shares must sum to ${SHARE_BASIS_POINTS_TOTAL} basis points, not ${sharesBps}` },
      ]);
    }
    const existing = await this.repository.existingWalletIds(payeeWalletIds);
    const unknown = payeeWalletIds.findIndex((walletId) => !existing.has(walletId));
    if (unknown >= 0) {
      throw new RequestValidationError([{ field: `payees.${unknown}.walletId`, message: 'walletId does not name an existing wallet' }]);
    }
    const royaltyPercent = request.royaltyPercent ?? this.config.authorRoyaltyPercent;
    return this.repository.transaction(async (tx) => {
      await this.repository.lockItem(tx, itemId);
      const current = await this.repository.current(itemId, tx);
      const unchanged =
        current !== undefined &&
        current.royaltyPercent === royaltyPercent &&
        JSON.stringify(current.payeeWalletIds) === JSON.stringify(payeeWalletIds) &&
        JSON.stringify(current.payeeSharesBps) === JSON.stringify(payeeSharesBps);
      if (unchanged) return { terms: toRoyaltyTermsDto(current), created: false };
      const row = await this.repository.insertVersion(tx, {
        itemId,
        version: (current?.version ?? 0) + 1,
        royaltyPercent,
        payeeWalletIds,
        payeeSharesBps,
        createdBy: caller.userId,
      });
      return { terms: toRoyaltyTermsDto(row), created: true };
    });
  }

  /** The terms in force; admins only (anyone else gets the same 404 as for an item without terms). */
  async get(caller: Caller, itemId: string): Promise<RoyaltyTermsDto> {
    if (!caller.isAdmin) throw new RoyaltyTermsNotFoundError();
    checkItemId(itemId);
    const current = await this.repository.current(itemId);
    if (!current) throw new RoyaltyTermsNotFoundError();
    return toRoyaltyTermsDto(current);
  }
}

function checkItemId(itemId: string): void {
  if (!ITEM_ID_PATTERN.test(itemId)) {
    throw new RequestValidationError([{ field: 'itemId', message: 'itemId must be 1 to 200 characters of A-Z a-z 0-9 _ . : / -' }]);
  }
}
