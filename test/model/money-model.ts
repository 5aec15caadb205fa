/**
 * The reference model of the money API: the target API contract (v1 and v2)
 * as a small pure state machine, with no I/O and nothing taken from the service's code. The
 * model-based tests (test/e2e/model-based.e2e.spec.ts) drive the real service and this model
 * with the same commands and require the same answers and the same wallets after every step.
 *
 * Wallets, purchases and withdrawals are named by the model's own references (`w0`, `p3`,
 * `x1`); the tests map them to the service's ids. Every answer is an `Outcome`: the HTTP status,
 * the error code when the contract names one, and the body fields the contract determines.
 */

export interface ModelWallet {
  ref: string;
  userRef: string;
  balanceCents: number;
  /** Royalty carry in centi-cents, 0..99. */
  carryCentiCents: number;
  debtCents: number;
  heldCents: number;
}

export type PurchaseStatus = 'authorized' | 'completed' | 'partially_refunded' | 'refunded' | 'voided';

export interface Payee {
  walletRef: string;
  /** Basis points of the author side; a purchase's payees sum to 10000. */
  shareBasisPoints: number;
}

export interface ModelPurchase {
  ref: string;
  buyerWalletRef: string;
  /** The royalty payees: the author alone (10000), or the item's terms in force at the sale. */
  payees: Payee[];
  itemPriceCents: number;
  itemId: string | null;
  royaltyPercent: number;
  /** The version of the item's terms the sale used; null without terms. */
  royaltyTermsVersion: number | null;
  status: PurchaseStatus;
  refundedCents: number;
  authorAmountCents: number | null;
  platformAmountCents: number | null;
  /** Whole cents each payee was credited at the sale (null while authorized). */
  payeeAmountsCents: number[] | null;
}

export type WithdrawalStatus = 'pending' | 'paid' | 'failed';

export interface ModelWithdrawal {
  ref: string;
  walletRef: string;
  amountCents: number;
  status: WithdrawalStatus;
}

export interface Outcome {
  status: number;
  code?: string;
  /** Fields of the body the contract determines (ids as model references). */
  body?: Record<string, unknown>;
  /** True when the answer is a stored one replayed for the same key and payload. */
  replayed?: boolean;
}

export interface ModelOptions {
  royaltyPercent: number;
  /** The platform's user: an admin, credited the platform's part of every sale. */
  platformUserRef: string;
  adminUserRefs: string[];
  payoutMinimumCents: number;
}

const AMOUNT_CENTS_MIN = 1;
const AMOUNT_CENTS_MAX = 1_000_000_000;
const KEY_PATTERN = /^[A-Za-z0-9_.:-]{1,255}$/;
const BASIS_POINTS_WHOLE = 10_000;

/** Floor division and a modulo in 0..d-1, also for negative positions (a wallet in debt). */
const floorDiv = (n: number, d: number) => Math.floor(n / d);
const mod = (n: number, d: number) => ((n % d) + d) % d;

/**
 * Divides `wholeCentiCents` among payees by share: each gets the floor of its exact part, and the
 * centi-cents left over go one each to the largest remainders, ties to the earlier payee.
 */
export function divideByShare(wholeCentiCents: number, payees: Payee[]): number[] {
  const exact = payees.map((p) => wholeCentiCents * p.shareBasisPoints);
  const parts = exact.map((e) => floorDiv(e, BASIS_POINTS_WHOLE));
  let left = wholeCentiCents - parts.reduce((a, b) => a + b, 0);
  const order = payees
    .map((_, i) => i)
    .sort((a, b) => mod(exact[b]!, BASIS_POINTS_WHOLE) - mod(exact[a]!, BASIS_POINTS_WHOLE) || a - b);
  for (const i of order) {
    if (left === 0) break;
    parts[i]! += 1;
    left -= 1;
  }
  return parts;
}

export class MoneyModel {
  readonly wallets = new Map<string, ModelWallet>();
  readonly purchases: ModelPurchase[] = [];
  readonly withdrawals: ModelWithdrawal[] = [];
  /** Royalty terms by item: the terms in force now (a purchase records its own copy). */
  readonly terms = new Map<string, { version: number; royaltyPercent: number; payees: Payee[] }>();
  /** Completed answers by (caller, operation, key), with the payload they answered. */
  private readonly stored = new Map<string, { payload: string; outcome: Outcome }>();

  constructor(readonly options: ModelOptions) {}

  /** An independent copy, for trying serial orders of commands that ran concurrently. */
  clone(): MoneyModel {
    const copy = new MoneyModel(this.options);
    for (const [ref, wallet] of this.wallets) copy.wallets.set(ref, { ...wallet });
    for (const purchase of this.purchases) copy.purchases.push(structuredClone(purchase));
    for (const withdrawal of this.withdrawals) copy.withdrawals.push({ ...withdrawal });
    for (const [item, terms] of this.terms) copy.terms.set(item, structuredClone(terms));
    // Stored answers are never changed once stored, so the copy may share them.
    for (const [scope, stored] of this.stored) copy.stored.set(scope, stored);
    return copy;
  }

  walletOf(userRef: string): ModelWallet | undefined {
    for (const wallet of this.wallets.values()) if (wallet.userRef === userRef) return wallet;
    return undefined;
  }

  isAdmin(userRef: string): boolean {
    return userRef === this.options.platformUserRef || this.options.adminUserRefs.includes(userRef);
  }

  /** Adds a wallet that already exists with the given state (the platform's, read at the start). */
  adopt(wallet: ModelWallet): void {
    this.wallets.set(wallet.ref, { ...wallet });
  }

  /** Malformed input the contract refuses before looking at anything (an unknown body field). */
  badInput(): Outcome {
    return { status: 400 };
  }

  // ---- wallets ------------------------------------------------------------------------------

  createWallet(userRef: string): Outcome {
    const existing = this.walletOf(userRef);
    if (existing) return { status: 200, body: this.walletBody(existing) };
    const wallet: ModelWallet = { ref: `w${this.wallets.size}`, userRef, balanceCents: 0, carryCentiCents: 0, debtCents: 0, heldCents: 0 };
    this.wallets.set(wallet.ref, wallet);
    return { status: 201, body: this.walletBody(wallet) };
  }

  walletBody(wallet: ModelWallet): Record<string, unknown> {
    return { id: wallet.ref, balance: wallet.balanceCents, fractionalBalance: wallet.carryCentiCents, debt: wallet.debtCents };
  }

  deposit(input: { callerRef: string; walletRef: string; amount: unknown; key?: string }): Outcome {
    if (input.key !== undefined && !KEY_PATTERN.test(input.key)) return { status: 400 };
    if (!isAmount(input.amount)) return { status: 400 };
    const wallet = this.wallets.get(input.walletRef);
    if (!wallet || wallet.userRef !== input.callerRef) return { status: 404 };
    return this.idempotent(input.callerRef, 'deposit', input.key, { walletRef: input.walletRef, amount: input.amount }, () => {
      this.credit(wallet, input.amount as number);
      return { status: 201, body: this.walletBody(wallet) };
    });
  }

  withdraw(input: { callerRef: string; walletRef: string; amount: unknown; key: string | undefined }): Outcome {
    if (input.key === undefined || !KEY_PATTERN.test(input.key)) return { status: 400 };
    if (!isAmount(input.amount)) return { status: 400 };
    const wallet = this.wallets.get(input.walletRef);
    if (!wallet || wallet.userRef !== input.callerRef) return { status: 404 };
    const amount = input.amount as number;
    return this.idempotent(input.callerRef, 'withdrawal', input.key, { walletRef: input.walletRef, amount }, () => {
      if (amount < this.options.payoutMinimumCents) return { status: 422, code: 'PAYOUT_BELOW_MINIMUM' };
      // Withdrawals see only the balance: debt and held money are not there to take.
      if (wallet.balanceCents < amount) return { status: 402 };
      wallet.balanceCents -= amount;
      const withdrawal: ModelWithdrawal = { ref: `x${this.withdrawals.length}`, walletRef: wallet.ref, amountCents: amount, status: 'pending' };
      this.withdrawals.push(withdrawal);
      return { status: 201, body: { id: withdrawal.ref, walletId: wallet.ref, amount, status: withdrawal.status } };
    });
  }

  /** settle: pending -> paid; fail: pending -> failed, the money back in the wallet. Admins only. */
  finishWithdrawal(input: { callerRef: string; withdrawalRef: string; outcome: 'settle' | 'fail' }): Outcome {
    if (!this.isAdmin(input.callerRef)) return { status: 403 };
    const withdrawal = this.withdrawals.find((w) => w.ref === input.withdrawalRef);
    if (!withdrawal) return { status: 404 };
    if (withdrawal.status !== 'pending') return { status: 409, code: 'WITHDRAWAL_NOT_PENDING' };
    withdrawal.status = input.outcome === 'settle' ? 'paid' : 'failed';
    if (withdrawal.status === 'failed') this.credit(this.wallets.get(withdrawal.walletRef)!, withdrawal.amountCents);
    return { status: 200, body: { id: withdrawal.ref, amount: withdrawal.amountCents, status: withdrawal.status } };
  }

  // ---- purchases ----------------------------------------------------------------------------

  purchase(input: {
    callerRef: string;
    buyerWalletRef: string;
    authorWalletRef?: string;
    itemPrice: unknown;
    key: string | undefined;
    itemId?: string;
    capture?: boolean;
  }): Outcome {
    if (input.key === undefined || !KEY_PATTERN.test(input.key)) return { status: 400 };
    if (!isAmount(input.itemPrice)) return { status: 400 };
    const buyer = this.wallets.get(input.buyerWalletRef);
    if (!buyer || buyer.userRef !== input.callerRef) return { status: 404 };
    const terms = input.itemId === undefined ? undefined : this.terms.get(input.itemId);
    const payees: Payee[] = terms ? terms.payees.map((p) => ({ ...p })) : [{ walletRef: input.authorWalletRef ?? '', shareBasisPoints: BASIS_POINTS_WHOLE }];
    if (!terms) {
      if (input.authorWalletRef === buyer.ref) return { status: 400, code: 'SELF_PURCHASE' };
      if (!input.authorWalletRef || !this.wallets.has(input.authorWalletRef)) return { status: 400 };
    }
    const price = input.itemPrice as number;
    const payload = { buyer: buyer.ref, author: input.authorWalletRef, price, itemId: input.itemId, capture: input.capture };
    return this.idempotent(input.callerRef, 'purchase', input.key, payload, () => {
      // Refusals that depend on the item's terms come after the key, like funds: terms change, and
      // a completed key answers for its first payload whatever they are now.
      if (terms) {
        // With terms the author may be omitted; when named it must be a payee. A buyer paying itself is refused.
        if (input.authorWalletRef !== undefined && !payees.some((p) => p.walletRef === input.authorWalletRef)) return { status: 400 };
        if (payees.some((p) => p.walletRef === buyer.ref)) return { status: 400, code: 'SELF_PURCHASE' };
      }
      if (buyer.balanceCents < price) return { status: 402 };
      buyer.balanceCents -= price;
      const purchase: ModelPurchase = {
        ref: `p${this.purchases.length}`,
        buyerWalletRef: buyer.ref,
        payees,
        itemPriceCents: price,
        itemId: input.itemId ?? null,
        royaltyPercent: terms?.royaltyPercent ?? this.options.royaltyPercent,
        royaltyTermsVersion: terms?.version ?? null,
        status: 'authorized',
        refundedCents: 0,
        authorAmountCents: null,
        platformAmountCents: null,
        payeeAmountsCents: null,
      };
      this.purchases.push(purchase);
      if (input.capture === false) {
        buyer.heldCents += price;
        return { status: 201, body: this.purchaseBody(purchase) };
      }
      this.split(purchase);
      return { status: 201, body: this.purchaseBody(purchase) };
    });
  }

  /** The royalty split at the moment money reaches the author side (a sale, or a capture). */
  private split(purchase: ModelPurchase): void {
    const parts = divideByShare(purchase.itemPriceCents * purchase.royaltyPercent, purchase.payees);
    purchase.payeeAmountsCents = purchase.payees.map((payee, i) => this.creditCentiCents(this.wallets.get(payee.walletRef)!, parts[i]!));
    purchase.authorAmountCents = purchase.payeeAmountsCents.reduce((a, b) => a + b, 0);
    purchase.platformAmountCents = purchase.itemPriceCents - purchase.authorAmountCents;
    // Negative when split payees sweep more whole cents from their carries than the price has
    // (ADR 0045): the platform then pays the difference from its balance.
    if (purchase.platformAmountCents >= 0) this.credit(this.platform(), purchase.platformAmountCents);
    else this.debit(this.platform(), -purchase.platformAmountCents);
    purchase.status = 'completed';
  }

  purchaseBody(purchase: ModelPurchase): Record<string, unknown> {
    return {
      id: purchase.ref,
      buyerWalletId: purchase.buyerWalletRef,
      // A split purchase names its first payee as the author.
      authorWalletId: purchase.payees[0]!.walletRef,
      itemPrice: purchase.itemPriceCents,
      itemId: purchase.itemId,
      royaltyTermsVersion: purchase.royaltyTermsVersion,
      authorAmount: purchase.authorAmountCents,
      platformAmount: purchase.platformAmountCents,
      status: purchase.status,
      refundedAmount: purchase.refundedCents,
      // Nothing is paid to anyone until a hold is captured.
      ...(purchase.payeeAmountsCents && { payees: purchase.payees.map((p, i) => ({ walletId: p.walletRef, amount: purchase.payeeAmountsCents![i] })) }),
    };
  }

  /** Who may see a purchase: its buyer, its payees, admins. */
  canSee(userRef: string, purchase: ModelPurchase): boolean {
    if (this.isAdmin(userRef)) return true;
    const refs = [purchase.buyerWalletRef, ...purchase.payees.map((p) => p.walletRef)];
    return refs.some((ref) => this.wallets.get(ref)?.userRef === userRef);
  }

  capture(input: { callerRef: string; purchaseRef: string; amount?: number; key?: string }): Outcome {
    const purchase = this.purchases.find((p) => p.ref === input.purchaseRef);
    const buyer = purchase && this.wallets.get(purchase.buyerWalletRef);
    if (!purchase || !buyer || !(this.isAdmin(input.callerRef) || buyer.userRef === input.callerRef)) return { status: 404 };
    if (input.amount !== undefined && !isAmount(input.amount)) return { status: 400 };
    return this.idempotent(input.callerRef, `capture:${purchase.ref}`, input.key, { amount: input.amount }, () => {
      if (purchase.status !== 'authorized') return { status: 409, code: 'PURCHASE_NOT_AUTHORIZED' };
      if (input.amount !== undefined && input.amount > purchase.itemPriceCents) return { status: 422, code: 'CAPTURE_EXCEEDS_AUTHORIZED' };
      const captured = input.amount ?? purchase.itemPriceCents;
      buyer.heldCents -= purchase.itemPriceCents;
      // The captured part is paid from the hold itself: a debt the buyer ran up since the
      // authorization does not take it. The part not captured comes back as a credit, which
      // repays debt first (a wallet never shows a balance and a debt at once).
      this.credit(buyer, purchase.itemPriceCents - captured);
      purchase.itemPriceCents = captured;
      this.split(purchase);
      return { status: 200, body: this.purchaseBody(purchase) };
    });
  }

  void(input: { callerRef: string; purchaseRef: string; key?: string }): Outcome {
    const purchase = this.purchases.find((p) => p.ref === input.purchaseRef);
    const buyer = purchase && this.wallets.get(purchase.buyerWalletRef);
    if (!purchase || !buyer || !(this.isAdmin(input.callerRef) || buyer.userRef === input.callerRef)) return { status: 404 };
    return this.idempotent(input.callerRef, `void:${purchase.ref}`, input.key, {}, () => {
      if (purchase.status !== 'authorized') return { status: 409, code: 'PURCHASE_NOT_AUTHORIZED' };
      buyer.heldCents -= purchase.itemPriceCents;
      // Released cents come back as a credit, which repays debt first.
      this.credit(buyer, purchase.itemPriceCents);
      purchase.status = 'voided';
      return { status: 200, body: this.purchaseBody(purchase) };
    });
  }

  // ---- refunds ------------------------------------------------------------------------------

  refund(input: { callerRef: string; purchaseRef: string; amount?: unknown; key: string | undefined }): Outcome {
    if (input.key === undefined || !KEY_PATTERN.test(input.key)) return { status: 400 };
    if (input.amount !== undefined && !isAmount(input.amount)) return { status: 400 };
    const purchase = this.purchases.find((p) => p.ref === input.purchaseRef);
    // An admin or one of the purchase's payees; anyone else, the buyer included, sees nothing.
    const isPayee = purchase?.payees.some((p) => this.wallets.get(p.walletRef)?.userRef === input.callerRef);
    if (!purchase || !(this.isAdmin(input.callerRef) || isPayee)) return { status: 404 };
    const payload = { purchase: purchase.ref, amount: input.amount };
    return this.idempotent(input.callerRef, 'refund', input.key, payload, () => {
      if (purchase.status === 'authorized' || purchase.status === 'voided') return { status: 409, code: 'PURCHASE_NOT_AUTHORIZED' };
      const remaining = purchase.itemPriceCents - purchase.refundedCents;
      const amount = (input.amount as number | undefined) ?? remaining;
      if (remaining === 0 || amount > remaining) return { status: 422, code: 'REFUND_EXCEEDS_REMAINING' };
      const before = divideByShare(purchase.refundedCents * purchase.royaltyPercent, purchase.payees);
      const after = divideByShare((purchase.refundedCents + amount) * purchase.royaltyPercent, purchase.payees);
      let authorAmount = 0;
      purchase.payees.forEach((payee, i) => {
        authorAmount += this.takeBackCentiCents(this.wallets.get(payee.walletRef)!, after[i]! - before[i]!);
      });
      const platformAmount = amount - authorAmount;
      this.credit(this.wallets.get(purchase.buyerWalletRef)!, amount);
      // Negative when split payees gave up more whole cents than the amount (ADR 0045): the
      // platform is then credited, and a credit repays debt first (ADR 0017).
      if (platformAmount >= 0) this.debit(this.platform(), platformAmount);
      else this.credit(this.platform(), -platformAmount);
      purchase.refundedCents += amount;
      purchase.status = purchase.refundedCents === purchase.itemPriceCents ? 'refunded' : 'partially_refunded';
      return { status: 201, body: { purchaseId: purchase.ref, amount, authorAmount, platformAmount } };
    });
  }

  // ---- royalty terms ------------------------------------------------------------------------

  putTerms(input: { callerRef: string; itemId: string; royaltyPercent?: number; payees: Payee[] }): Outcome {
    if (!this.isAdmin(input.callerRef)) return { status: 403 };
    const shares = input.payees.map((p) => p.shareBasisPoints);
    const distinct = new Set(input.payees.map((p) => p.walletRef)).size === input.payees.length;
    if (input.payees.length < 1 || input.payees.length > 10 || !distinct || shares.reduce((a, b) => a + b, 0) !== BASIS_POINTS_WHOLE) {
      return { status: 400 };
    }
    if (input.payees.some((p) => !this.wallets.has(p.walletRef))) return { status: 400 };
    const royaltyPercent = input.royaltyPercent ?? this.options.royaltyPercent;
    const current = this.terms.get(input.itemId);
    const body = (terms: { version: number; royaltyPercent: number; payees: Payee[] }) => ({
      itemId: input.itemId,
      version: terms.version,
      royaltyPercent: terms.royaltyPercent,
      payees: terms.payees.map((p) => ({ walletId: p.walletRef, share: p.shareBasisPoints })),
    });
    // The same terms again are already in force: 200 and no new version.
    if (current && current.royaltyPercent === royaltyPercent && JSON.stringify(current.payees) === JSON.stringify(input.payees)) {
      return { status: 200, body: body(current) };
    }
    const terms = { version: (current?.version ?? 0) + 1, royaltyPercent, payees: input.payees.map((p) => ({ ...p })) };
    this.terms.set(input.itemId, terms);
    return { status: 201, body: body(terms) };
  }

  // ---- money movements on one wallet --------------------------------------------------------

  private platform(): ModelWallet {
    const platform = this.walletOf(this.options.platformUserRef);
    if (!platform) throw new Error('the model needs the platform wallet before any sale');
    return platform;
  }

  /** A credit repays debt before anything reaches the balance. */
  private credit(wallet: ModelWallet, cents: number): void {
    const repaid = Math.min(wallet.debtCents, cents);
    wallet.debtCents -= repaid;
    wallet.balanceCents += cents - repaid;
  }

  /** A debit takes what the balance covers; the rest becomes debt. */
  private debit(wallet: ModelWallet, cents: number): void {
    const covered = Math.min(wallet.balanceCents, cents);
    wallet.balanceCents -= covered;
    wallet.debtCents += cents - covered;
  }

  /** The wallet's position in centi-cents: 100 * (balance - debt) + carry. */
  private position(wallet: ModelWallet): number {
    return 100 * (wallet.balanceCents - wallet.debtCents) + wallet.carryCentiCents;
  }

  /** Adds royalty centi-cents to the position; returns the whole cents that reached the wallet. */
  private creditCentiCents(wallet: ModelWallet, centiCents: number): number {
    const before = this.position(wallet);
    const after = before + centiCents;
    const cents = floorDiv(after, 100) - floorDiv(before, 100);
    wallet.carryCentiCents = mod(after, 100);
    this.credit(wallet, cents);
    return cents;
  }

  /** Takes royalty centi-cents back from the position; returns the whole cents taken (debt included). */
  private takeBackCentiCents(wallet: ModelWallet, centiCents: number): number {
    const before = this.position(wallet);
    const after = before - centiCents;
    const cents = floorDiv(before, 100) - floorDiv(after, 100);
    wallet.carryCentiCents = mod(after, 100);
    this.debit(wallet, cents);
    return cents;
  }

  // ---- idempotency --------------------------------------------------------------------------

  /**
   * The contract's key rules: a completed answer is stored and replayed for the same payload,
   * the same key with another payload is 422, and an error leaves the key free. Without a key
   * (deposits may omit it) every request is new.
   */
  private idempotent(callerRef: string, operation: string, key: string | undefined, payload: unknown, run: () => Outcome): Outcome {
    if (key === undefined) return run();
    const scope = `${callerRef}|${operation}|${key}`;
    const fingerprint = JSON.stringify(payload);
    const stored = this.stored.get(scope);
    if (stored) {
      if (stored.payload !== fingerprint) return { status: 422, code: 'IDEMPOTENCY_KEY_REUSED' };
      return { ...stored.outcome, replayed: true };
    }
    const outcome = run();
    if (outcome.status < 300) this.stored.set(scope, { payload: fingerprint, outcome });
    return outcome;
  }
}

function isAmount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= AMOUNT_CENTS_MIN && value <= AMOUNT_CENTS_MAX;
}
