import fc from 'fast-check';
import type { ApiResponse } from '../setup/api-client';
import { readBooks } from '../setup/books';
import { ADMIN_USER_ID, PLATFORM_USER_ID, TestApp } from '../setup/test-app';
import { MoneyModel, Outcome } from './money-model';

/**
 * What the model-based tests do to the service, as plain data (so fast-check prints, shrinks and
 * replays it), and how one intent becomes one HTTP request and one model step. Indexes pick
 * wallets and purchases among those that exist when the intent runs (modulo their count), so a
 * shrunk sequence still means something.
 */
export type Intent =
  | { kind: 'createWallet'; user: number }
  | { kind: 'deposit'; wallet: number; amount: number; keyed: boolean }
  /** `item` names one of the sequence's own items (its terms, once set, are the sequence's alone). */
  | { kind: 'purchase'; buyer: number; author: number; price: number; item: number | null; hold: boolean }
  /** Capture (all, or `percent` of it) or void one of the authorized holds, as its buyer or an admin. */
  | { kind: 'settleHold'; purchase: number; action: 'capture' | 'void'; percent: number | null; by: 'buyer' | 'admin' }
  | { kind: 'refund'; purchase: number; amount: number | null; by: 'author' | 'admin' }
  /** `whole`: everything the balance holds now (authors who withdrew are the ones refunds put in debt). */
  | { kind: 'withdraw'; wallet: number; amount: number; whole: boolean }
  /** A payout's outcome from the payment provider (an admin), or the owner trying it (403). */
  | { kind: 'finishWithdrawal'; withdrawal: number; outcome: 'settle' | 'fail'; by: 'admin' | 'owner' }
  /** The last keyed request again, as a client retry would send it. */
  /** Royalty terms for one of the sequence's items: payees from `firstPayee` on, shares by `split`. */
  | { kind: 'setTerms'; item: number; firstPayee: number; split: number; royaltyPercent: number | null }
  | { kind: 'replay' }
  /** The last keyed request's key with another body. */
  | { kind: 'reuseKey' }
  | { kind: 'bad'; variant: number; wallet: number };

/** The users a run plays: the platform (an admin), a plain admin, and users u0..u5. */
export const PLATFORM = 'platform';
export const ADMIN = 'admin';
const USERS = 6;
const BAD_VARIANTS = 12;
/** Basis-point splits among 1 to 4 payees: even, uneven, the smallest share, remainders that tie. */
const SPLITS = [[10_000], [5_000, 5_000], [3_333, 3_333, 3_334], [2_500, 7_500], [1, 9_999], [2_000, 3_000, 2_500, 2_500]];
const ITEMS = 3;

/** An item id of this sequence's own: [A-Za-z0-9_.:/-], at most 200 characters. */
export const itemIdOf = (context: RunContext, item: number) => `item:${context.keyPrefix}/${item}`;

/** `terms`: whether royalty terms join the commands (the serial mode sets them between sales). */
export const intentArbitrary = (options: { amountMax: number; terms?: boolean }): fc.Arbitrary<Intent> => {
  const index = fc.nat({ max: 7 });
  const cents = fc.integer({ min: 1, max: options.amountMax });
  return fc.oneof(
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('createWallet' as const), user: fc.nat({ max: USERS - 1 }) }) },
    {
      weight: 3,
      arbitrary: fc.record({ kind: fc.constant('deposit' as const), wallet: index, amount: fc.integer({ min: 1, max: 3 * options.amountMax }), keyed: fc.boolean() }),
    },
    {
      weight: 6,
      arbitrary: fc.record({
        kind: fc.constant('purchase' as const),
        buyer: index,
        author: index,
        price: cents,
        item: fc.option(fc.nat({ max: ITEMS - 1 }), { nil: null }),
        hold: fc.constantFrom(false, false, false, true),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('settleHold' as const),
        purchase: index,
        action: fc.constantFrom('capture' as const, 'void' as const),
        percent: fc.option(fc.integer({ min: 1, max: 100 }), { nil: null }),
        by: fc.constantFrom('buyer' as const, 'admin' as const),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('refund' as const),
        purchase: index,
        amount: fc.option(fc.integer({ min: 1, max: Math.ceil(options.amountMax / 4) }), { nil: null, freq: 2 }),
        by: fc.constantFrom('author' as const, 'admin' as const),
      }),
    },
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('withdraw' as const), wallet: index, amount: cents, whole: fc.boolean() }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('finishWithdrawal' as const),
        withdrawal: index,
        outcome: fc.constantFrom('settle' as const, 'fail' as const),
        by: fc.constantFrom('admin' as const, 'admin' as const, 'owner' as const),
      }),
    },
    {
      weight: options.terms ? 2 : 0,
      arbitrary: fc.record({
        kind: fc.constant('setTerms' as const),
        item: fc.nat({ max: ITEMS - 1 }),
        firstPayee: index,
        split: fc.nat({ max: SPLITS.length - 1 }),
        royaltyPercent: fc.constantFrom(null, 0, 33, 50, 99, 100),
      }),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'replay' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'reuseKey' as const }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('bad' as const), variant: fc.nat({ max: BAD_VARIANTS - 1 }), wallet: index }) },
  );
};

/** One request, its model step, and what it touches (model references throughout). */
export interface Call {
  label: string;
  userRef: string;
  method: 'POST' | 'PUT';
  /** Path and body with model references; `ids` turns them into the service's ids. */
  request(ids: (ref: string) => string): { path: string; body?: unknown; rawBody?: string; key?: string };
  apply(model: MoneyModel): Outcome;
  walletRefs: string[];
  purchaseRef?: string;
  /** For a replay or a key reuse: how to send the same key with another body. */
  variant?: () => Call;
  /** The idempotency scope the answer is stored under, for comparing replays. */
  scope?: string;
}

/** The model's state plus what the run needs to turn intents into calls. */
export interface RunContext {
  model: MoneyModel;
  /** Keyed calls made so far, the last one first in line for replays. */
  keyed: Call[];
  keyPrefix: string;
  keyCount: number;
  /** Whether a whole-balance withdrawal may empty the platform's wallet (serial specs only). */
  platformMayEmpty: boolean;
  /** Whether holds may name an item (on since holds record the terms they saw, ADR 0018). */
  holdsOfItems: boolean;
}

export function newRunContext(model: MoneyModel, keyPrefix: string): RunContext {
  return { model, keyed: [], keyPrefix, keyCount: 0, platformMayEmpty: false, holdsOfItems: true };
}

const pick = <T>(items: T[], index: number): T | undefined => (items.length === 0 ? undefined : items[index % items.length]);

/** Turns an intent into a call against the current model, or undefined when it cannot apply yet. */
export function resolve(context: RunContext, intent: Intent, nextKey: () => string): Call | undefined {
  const model = context.model;
  const wallets = [...model.wallets.values()];
  const purchases = model.purchases.filter((p) => p.status !== 'authorized' && p.status !== 'voided');
  switch (intent.kind) {
    case 'createWallet': {
      const userRef = `u${intent.user}`;
      return {
        label: `createWallet(${userRef})`,
        userRef,
        method: 'POST',
        request: () => ({ path: '/wallets' }),
        apply: (m) => m.createWallet(userRef),
        walletRefs: [],
      };
    }
    case 'deposit': {
      const wallet = pick(wallets, intent.wallet);
      if (!wallet) return undefined;
      const key = intent.keyed ? nextKey() : undefined;
      const make = (amount: number): Call => ({
        label: `deposit(${wallet.ref}, ${amount}${key ? `, key ${key}` : ''})`,
        userRef: wallet.userRef,
        method: 'POST',
        request: (ids) => ({ path: `/wallets/${ids(wallet.ref)}/deposit`, body: { amount }, key }),
        apply: (m) => m.deposit({ callerRef: wallet.userRef, walletRef: wallet.ref, amount, key }),
        walletRefs: [wallet.ref],
        variant: key ? () => make(amount + 1) : undefined,
        scope: key ? `${wallet.userRef}|deposit|${key}` : undefined,
      });
      return make(intent.amount);
    }
    case 'purchase': {
      // The author is another wallet: a self-purchase is one of the bad inputs.
      if (wallets.length < 2) return undefined;
      const buyerIndex = intent.buyer % wallets.length;
      const buyer = wallets[buyerIndex]!;
      const author = wallets[(buyerIndex + 1 + (intent.author % (wallets.length - 1))) % wallets.length]!;
      const key = nextKey();
      // Holds of items are known defects (capture after the item's terms change, holds of split
      // items; ADR 0063): only regression specs make them until they are fixed.
      const itemId = intent.item === null || (intent.hold && !context.holdsOfItems) ? undefined : itemIdOf(context, intent.item);
      // An item with terms names its payees; the author is then left out (the usual call).
      const terms = itemId === undefined ? undefined : model.terms.get(itemId);
      const authorRef = terms ? undefined : author.ref;
      const payeeRefs = terms ? terms.payees.map((p) => p.walletRef) : [author.ref];
      const make = (price: number): Call => ({
        label: `${intent.hold ? 'hold' : 'purchase'}(${buyer.ref} buys ${itemId === undefined ? '' : `item ${intent.item} `}from ${payeeRefs.join('+')}, ${price}, key ${key})`,
        userRef: buyer.userRef,
        method: 'POST',
        request: (ids) => ({
          path: '/purchases',
          body: {
            buyerWalletId: ids(buyer.ref),
            ...(authorRef === undefined ? {} : { authorWalletId: ids(authorRef) }),
            itemPrice: price,
            ...(itemId === undefined ? {} : { itemId }),
            ...(intent.hold ? { capture: false } : {}),
          },
          key,
        }),
        apply: (m) =>
          m.purchase({ callerRef: buyer.userRef, buyerWalletRef: buyer.ref, authorWalletRef: authorRef, itemPrice: price, key, itemId, capture: intent.hold ? false : undefined }),
        walletRefs: [buyer.ref, ...payeeRefs, model.walletOf(PLATFORM)!.ref],
        variant: () => make(price + 1),
        scope: `${buyer.userRef}|purchase|${key}`,
      });
      return make(intent.price);
    }
    case 'refund': {
      const purchase = pick(purchases, intent.purchase);
      if (!purchase) return undefined;
      const author = model.wallets.get(purchase.payees[0]!.walletRef)!;
      const userRef = intent.by === 'admin' ? ADMIN : author.userRef;
      const key = nextKey();
      const make = (amount: number | null): Call => ({
        label: `refund(${purchase.ref}, ${amount ?? 'the rest'}, by ${userRef}, key ${key})`,
        userRef,
        method: 'POST',
        request: (ids) => ({ path: `/purchases/${ids(purchase.ref)}/refunds`, body: amount === null ? {} : { amount }, key }),
        apply: (m) => m.refund({ callerRef: userRef, purchaseRef: purchase.ref, amount: amount ?? undefined, key }),
        walletRefs: [purchase.buyerWalletRef, ...purchase.payees.map((p) => p.walletRef), model.walletOf(PLATFORM)!.ref],
        purchaseRef: purchase.ref,
        variant: () => make((amount ?? 0) + 1),
        scope: `${userRef}|refund|${key}`,
      });
      return make(intent.amount);
    }
    case 'withdraw': {
      const wallet = pick(wallets, intent.wallet);
      if (!wallet) return undefined;
      const key = nextKey();
      // The platform empties its wallet only where a spec asks for it: the serial mode does; in
      // the concurrent mode its debt meets a race ADR 0017 leaves open (revenue written to a
      // balance slot beside a debt a concurrent refund just created).
      const whole = intent.whole && (wallet.userRef !== PLATFORM || context.platformMayEmpty);
      const amountCents = whole && wallet.balanceCents > 0 ? wallet.balanceCents : intent.amount;
      const make = (amount: number): Call => ({
        label: `withdraw(${wallet.ref}, ${amount}, key ${key})`,
        userRef: wallet.userRef,
        method: 'POST',
        request: (ids) => ({ path: `/wallets/${ids(wallet.ref)}/withdrawals`, body: { amount }, key }),
        apply: (m) => m.withdraw({ callerRef: wallet.userRef, walletRef: wallet.ref, amount, key }),
        walletRefs: [wallet.ref],
        variant: () => make(amount + 1),
        scope: `${wallet.userRef}|withdrawal|${key}`,
      });
      return make(amountCents);
    }
    case 'finishWithdrawal': {
      const withdrawal = pick(model.withdrawals, intent.withdrawal);
      if (!withdrawal) return undefined;
      const wallet = model.wallets.get(withdrawal.walletRef)!;
      // The owner may not settle its own payout; when the owner is the platform (an admin), a stranger tries.
      const userRef = intent.by === 'admin' ? ADMIN : wallet.userRef === PLATFORM ? 'u-stranger' : wallet.userRef;
      const outcome = intent.outcome;
      return {
        label: `${outcome}(${withdrawal.ref} of ${wallet.ref}, by ${userRef})`,
        userRef,
        method: 'POST',
        request: (ids) => ({
          path: `/withdrawals/${ids(withdrawal.ref)}/${outcome}`,
          body: outcome === 'fail' ? { reason: 'the provider refused the account' } : undefined,
        }),
        apply: (m) => m.finishWithdrawal({ callerRef: userRef, withdrawalRef: withdrawal.ref, outcome }),
        walletRefs: [wallet.ref],
      };
    }
    case 'settleHold': {
      const hold = pick(
        model.purchases.filter((p) => p.status === 'authorized'),
        intent.purchase,
      );
      if (!hold) return undefined;
      const buyer = model.wallets.get(hold.buyerWalletRef)!;
      const userRef = intent.by === 'admin' ? ADMIN : buyer.userRef;
      const amount = intent.action === 'capture' && intent.percent !== null ? Math.max(1, Math.floor((hold.itemPriceCents * intent.percent) / 100)) : undefined;
      return {
        label: `${intent.action}(${hold.ref}${amount === undefined ? '' : `, ${amount}`}, by ${userRef})`,
        userRef,
        method: 'POST',
        request: (ids) => ({ path: `/purchases/${ids(hold.ref)}/${intent.action}`, body: amount === undefined ? {} : { amount } }),
        apply: (m) =>
          intent.action === 'capture' ? m.capture({ callerRef: userRef, purchaseRef: hold.ref, amount }) : m.void({ callerRef: userRef, purchaseRef: hold.ref }),
        walletRefs: [hold.buyerWalletRef, ...hold.payees.map((p) => p.walletRef), model.walletOf(PLATFORM)!.ref],
        purchaseRef: hold.ref,
      };
    }
    case 'setTerms': {
      const shares = SPLITS[intent.split % SPLITS.length]!;
      if (wallets.length < shares.length) return undefined;
      const start = intent.firstPayee % wallets.length;
      const payees = shares.map((share, i) => ({ walletRef: wallets[(start + i) % wallets.length]!.ref, shareBasisPoints: share }));
      const itemId = itemIdOf(context, intent.item);
      const royaltyPercent = intent.royaltyPercent ?? undefined;
      return {
        label: `setTerms(item ${intent.item}: ${payees.map((p) => `${p.walletRef} ${p.shareBasisPoints}`).join(', ')}${royaltyPercent === undefined ? '' : `, ${royaltyPercent}%`})`,
        userRef: ADMIN,
        method: 'PUT',
        request: (ids) => ({
          path: `/royalty-terms/${encodeURIComponent(itemId)}`,
          body: {
            ...(royaltyPercent === undefined ? {} : { royaltyPercent }),
            payees: payees.map((p) => ({ walletId: ids(p.walletRef), share: p.shareBasisPoints })),
          },
        }),
        apply: (m) => m.putTerms({ callerRef: ADMIN, itemId, royaltyPercent, payees }),
        walletRefs: [],
      };
    }
    case 'replay': {
      const last = context.keyed[context.keyed.length - 1];
      return last && { ...last, label: `replay of ${last.label}` };
    }
    case 'reuseKey': {
      const last = context.keyed[context.keyed.length - 1];
      const other = last?.variant?.();
      return other && { ...other, label: `same key, other body: ${other.label}` };
    }
    case 'bad':
      return resolveBadInput(context, intent.variant, pick(wallets, intent.wallet), wallets, nextKey);
  }
}

/** Requests the contract refuses: each must get its status and change nothing. */
function resolveBadInput(
  context: RunContext,
  variant: number,
  wallet: { ref: string; userRef: string } | undefined,
  wallets: { ref: string; userRef: string }[],
  nextKey: () => string,
): Call | undefined {
  if (!wallet || wallets.length < 2) return undefined;
  const other = wallets.find((w) => w.ref !== wallet.ref)!;
  const model = context.model;
  const purchase = model.purchases.find((p) => p.status !== 'authorized' && p.status !== 'voided');
  const key = nextKey();
  const purchaseCall = (label: string, body: (ids: (ref: string) => string) => unknown, requestKey: string | undefined, userRef = wallet.userRef): Call => ({
    label: `bad purchase: ${label}`,
    userRef,
    method: 'POST',
    request: (ids) => ({ path: '/purchases', body: body(ids), key: requestKey }),
    apply: (m) => {
      const sent = body((ref) => ref) as { buyerWalletId: string; authorWalletId: string; itemPrice: unknown; extra?: unknown };
      if ('extra' in sent) return m.badInput();
      return m.purchase({ callerRef: userRef, buyerWalletRef: sent.buyerWalletId, authorWalletRef: sent.authorWalletId, itemPrice: sent.itemPrice, key: requestKey });
    },
    walletRefs: [wallet.ref, other.ref],
  });
  const simple = (ids: (ref: string) => string, itemPrice: unknown) => ({ buyerWalletId: ids(wallet.ref), authorWalletId: ids(other.ref), itemPrice });
  switch (variant) {
    case 0:
      return purchaseCall('price 0', (ids) => simple(ids, 0), key);
    case 1:
      return purchaseCall('price as a string', (ids) => simple(ids, '100'), key);
    case 2:
      return purchaseCall('no key', (ids) => simple(ids, 1), undefined);
    case 3:
      return purchaseCall('malformed key', (ids) => simple(ids, 1), 'not a key!');
    case 4:
      return purchaseCall('unknown field', (ids) => ({ ...simple(ids, 1), extra: true }), key);
    case 5:
      return purchaseCall("someone else's buyer wallet", (ids) => simple(ids, 1), key, other.userRef === wallet.userRef ? 'u-stranger' : other.userRef);
    case 6:
      return purchaseCall('self-purchase', (ids) => ({ buyerWalletId: ids(wallet.ref), authorWalletId: ids(wallet.ref), itemPrice: 1 }), key);
    case 7:
      return {
        label: `bad deposit: negative amount into ${wallet.ref}`,
        userRef: wallet.userRef,
        method: 'POST',
        request: (ids) => ({ path: `/wallets/${ids(wallet.ref)}/deposit`, body: { amount: -5 } }),
        apply: (m) => m.deposit({ callerRef: wallet.userRef, walletRef: wallet.ref, amount: -5 }),
        walletRefs: [wallet.ref],
      };
    case 8:
      return {
        label: `bad withdrawal: 1.5 cents from ${wallet.ref}`,
        userRef: wallet.userRef,
        method: 'POST',
        request: (ids) => ({ path: `/wallets/${ids(wallet.ref)}/withdrawals`, body: { amount: 1.5 }, key }),
        apply: (m) => m.withdraw({ callerRef: wallet.userRef, walletRef: wallet.ref, amount: 1.5, key }),
        walletRefs: [wallet.ref],
      };
    case 9: {
      const caller = other.userRef === wallet.userRef ? 'u-stranger' : other.userRef;
      return {
        label: `bad withdrawal: ${caller} from ${wallet.ref}`,
        userRef: caller,
        method: 'POST',
        request: (ids) => ({ path: `/wallets/${ids(wallet.ref)}/withdrawals`, body: { amount: 1 }, key }),
        apply: (m) => m.withdraw({ callerRef: caller, walletRef: wallet.ref, amount: 1, key }),
        walletRefs: [wallet.ref],
      };
    }
    case 10: {
      if (!purchase) return undefined;
      const buyer = model.wallets.get(purchase.buyerWalletRef)!;
      return {
        label: `bad refund: ${purchase.ref} by its buyer`,
        userRef: buyer.userRef,
        method: 'POST',
        request: (ids) => ({ path: `/purchases/${ids(purchase.ref)}/refunds`, body: { amount: 1 }, key }),
        apply: (m) => m.refund({ callerRef: buyer.userRef, purchaseRef: purchase.ref, amount: 1, key }),
        walletRefs: [buyer.ref],
        purchaseRef: purchase.ref,
      };
    }
    default: {
      if (!purchase) return undefined;
      return {
        label: `bad refund: ${purchase.ref}, amount 0`,
        userRef: ADMIN,
        method: 'POST',
        request: (ids) => ({ path: `/purchases/${ids(purchase.ref)}/refunds`, body: { amount: 0 }, key }),
        apply: (m) => m.refund({ callerRef: ADMIN, purchaseRef: purchase.ref, amount: 0, key }),
        walletRefs: [],
        purchaseRef: purchase.ref,
      };
    }
  }
}

/**
 * The service side of a run: users and ids for the model's references, and the first answer
 * stored under each idempotency scope (a replay must repeat it).
 */
export class ServiceDriver {
  private readonly users = new Map<string, string>([
    [PLATFORM, PLATFORM_USER_ID],
    [ADMIN, ADMIN_USER_ID],
  ]);
  readonly ids = new Map<string, string>();
  private readonly firstAnswers = new Map<string, unknown>();

  constructor(readonly t: TestApp) {}

  userId(userRef: string): string {
    let id = this.users.get(userRef);
    if (!id) {
      id = crypto.randomUUID();
      this.users.set(userRef, id);
    }
    return id;
  }

  id(ref: string): string {
    const id = this.ids.get(ref);
    // A reference the service never saw (a refused creation): an id nobody has.
    return id ?? '00000000-0000-4000-8000-000000000000';
  }

  async send(call: Call): Promise<ApiResponse> {
    const request = call.request((ref) => this.id(ref));
    return this.t.api.request(call.method, request.path, {
      userId: this.userId(call.userRef),
      body: request.body,
      rawBody: request.rawBody,
      idempotencyKey: request.key,
    });
  }

  /** Learns the ids of what a successful answer created, by the model's references. */
  bind(expected: Outcome, response: ApiResponse): void {
    const ref = expected.body?.id;
    if (typeof ref === 'string' && !this.ids.has(ref) && response.body && typeof response.body.id === 'string') this.ids.set(ref, response.body.id);
  }

  /** The model's body with references turned into ids, for comparing with the service's. */
  expectedBody(body: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [field, value] of Object.entries(body)) {
      if (field === 'payees' && Array.isArray(value)) {
        out.payees = value.map((p: { walletId: string }) => ({ ...p, walletId: this.id(p.walletId) }));
      } else if (typeof value === 'string' && /^(id|buyerWalletId|authorWalletId|walletId|purchaseId)$/.test(field)) {
        out[field] = this.ids.has(value) ? this.id(value) : expect.any(String);
      } else {
        out[field] = value;
      }
    }
    return out;
  }

  /** Checks one answer against the model's outcome; throws a readable mismatch. */
  checkAnswer(call: Call, expected: Outcome, response: ApiResponse): void {
    const context = `${call.label}: expected ${JSON.stringify(expected)}, got ${response.status} ${JSON.stringify(response.body)}`;
    if (response.status !== expected.status) throw new Error(`status differs. ${context}`);
    if (expected.code !== undefined && response.body?.code !== expected.code) throw new Error(`error code differs. ${context}`);
    if (response.status >= 500) throw new Error(`a 5xx. ${context}`);
    if (expected.replayed) {
      if (response.headers.get('idempotent-replayed') !== 'true') throw new Error(`no Idempotent-Replayed header. ${context}`);
      const first = call.scope === undefined ? undefined : this.firstAnswers.get(call.scope);
      expect({ call: call.label, body: response.body }).toEqual({ call: call.label, body: first });
      return;
    }
    if (expected.status < 300) {
      this.bind(expected, response);
      if (call.scope !== undefined) this.firstAnswers.set(call.scope, response.body);
      if (expected.body) expect({ call: call.label, body: response.body }).toMatchObject({ call: call.label, body: this.expectedBody(expected.body) });
    }
  }

  /** Reads the wallets from the service and compares them with the model's. */
  async checkWallets(model: MoneyModel, refs: Iterable<string>, label: string): Promise<void> {
    for (const ref of new Set(refs)) {
      const wallet = model.wallets.get(ref);
      if (!wallet || !this.ids.has(ref)) continue;
      const read = await this.t.api.get(`/wallets/${this.id(ref)}`, { userId: this.userId(wallet.userRef) });
      const expected: Record<string, number> = { balance: wallet.balanceCents, fractionalBalance: wallet.carryCentiCents, debt: wallet.debtCents };
      const actual: Record<string, number> = { balance: read.body.balance, fractionalBalance: read.body.fractionalBalance, debt: read.body.debt };
      // Held money shows once holds exist in the service.
      if ('heldBalance' in read.body) {
        expected.heldBalance = wallet.heldCents;
        actual.heldBalance = read.body.heldBalance;
      }
      expect({ after: label, wallet: ref, ...actual }).toEqual({ after: label, wallet: ref, ...expected });
    }
  }

  async checkPurchase(model: MoneyModel, ref: string | undefined, label: string): Promise<void> {
    const purchase = ref === undefined ? undefined : model.purchases.find((p) => p.ref === ref);
    if (!purchase || !this.ids.has(purchase.ref)) return;
    const read = await this.t.api.get(`/purchases/${this.id(purchase.ref)}`, { userId: ADMIN_USER_ID });
    expect({ after: label, purchase: read.body }).toMatchObject({ after: label, purchase: this.expectedBody(model.purchaseBody(purchase)) });
  }

  /** The books check every money test ends with, as one readable comparison. */
  async checkBooks(label: string): Promise<void> {
    expect({ after: label, ...(await booksSummary(this.t)) }).toEqual({ after: label, ...BOOKS_BALANCED });
  }
}

/** What the books check compares, each figure next to the value balanced books show. */
export const BOOKS_BALANCED = {
  entriesSum: 0,
  unbalancedTransactions: 0,
  walletsOffLedger: 0,
  authorsOffIdentity: 0,
  purchasesOffSplit: 0,
  totalsMatchLedger: true,
  rollupsMatchTotals: true,
  authorRollupsOffSales: 0,
  refundsOffPurchase: 0,
  debtMatchesReceivables: true,
};

export async function booksSummary(t: TestApp): Promise<typeof BOOKS_BALANCED> {
    const books = await readBooks(t.db.sql);
    return {
      entriesSum: books.entriesSum,
      unbalancedTransactions: books.unbalancedTransactions,
      walletsOffLedger: books.walletsOffLedger,
      authorsOffIdentity: books.authorsOffIdentity,
      purchasesOffSplit: books.purchasesOffSplit,
      totalsMatchLedger: JSON.stringify(books.totals) === JSON.stringify(books.totalsFromLedger),
      rollupsMatchTotals: books.rollupsMatchTotals,
      authorRollupsOffSales: books.authorRollupsOffSales,
      refundsOffPurchase: books.refundsOffPurchase,
      debtMatchesReceivables: books.debt.wallets === books.debt.receivables,
    };
}
