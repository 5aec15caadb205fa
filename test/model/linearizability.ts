import type { ApiResponse } from '../setup/api-client';
import { Call, RunContext, ServiceDriver } from './money-commands';
import { MoneyModel, Outcome } from './money-model';

/**
 * The concurrent mode's judge (ADR 0063): calls fired at once must be explainable by SOME serial
 * order. It tries every order of the batch's calls on a copy of the model and accepts the first
 * in which every call answers as the service answered it and every wallet ends as the service
 * shows it; the model then moves on in that order. Calls answered 409 IDEMPOTENCY_KEY_IN_FLIGHT
 * did nothing and take no place in the order, and only a call whose key another call of the
 * batch carries may get one.
 */

const BATCH_SIZE_MAX = 6;
const ID_FIELDS = /^(id|buyerWalletId|authorWalletId|walletId|purchaseId)$/;

export interface Fired {
  call: Call;
  response: ApiResponse;
}

export interface WalletReading {
  balance: number;
  fractionalBalance: number;
  debt: number;
  heldBalance?: number;
}

function sameAnswer(driver: ServiceDriver, fired: Fired, expected: Outcome, originals: Map<string, ApiResponse>): boolean {
  const { response } = fired;
  if (response.status !== expected.status) return false;
  if (expected.code !== undefined && response.body?.code !== expected.code) return false;
  const replayed = response.headers.get('idempotent-replayed') === 'true';
  if (Boolean(expected.replayed) !== replayed) return false;
  if (expected.replayed) {
    const original = fired.call.scope === undefined ? undefined : originals.get(fired.call.scope);
    return original === undefined || JSON.stringify(original.body) === JSON.stringify(response.body);
  }
  for (const [field, value] of Object.entries(expected.body ?? {})) {
    const actual = response.body?.[field];
    if (ID_FIELDS.test(field) && typeof value === 'string') {
      if (driver.ids.has(value) && driver.id(value) !== actual) return false;
    } else if (field === 'payees') {
      continue;
    } else if (JSON.stringify(actual) !== JSON.stringify(value)) {
      return false;
    }
  }
  return true;
}

function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

/** Fires the calls at once, then finds a serial order that explains them; throws when none does. */
export async function runConcurrently(context: RunContext, driver: ServiceDriver, calls: Call[], label: string): Promise<Call[]> {
  if (calls.length > BATCH_SIZE_MAX) throw new Error(`a batch holds at most ${BATCH_SIZE_MAX} calls`);
  const responses = await Promise.all(calls.map((call) => driver.send(call)));
  const fired = calls.map((call, i) => ({ call, response: responses[i]! }));

  for (const [i, { call, response }] of fired.entries()) {
    if (response.status >= 500) throw new Error(`${label}: ${call.label} answered ${response.status} ${JSON.stringify(response.body)}`);
    if (response.status === 409 && response.body?.code === 'IDEMPOTENCY_KEY_IN_FLIGHT') {
      const shared = fired.some((other, j) => j !== i && other.call.scope !== undefined && other.call.scope === call.scope);
      if (!shared) throw new Error(`${label}: ${call.label} answered 409 in flight, but no other call of the batch had its key`);
      if (!response.headers.get('retry-after')) throw new Error(`${label}: a 409 in flight without Retry-After`);
    }
  }
  const ordered = fired.filter((f) => !(f.response.status === 409 && f.response.body?.code === 'IDEMPOTENCY_KEY_IN_FLIGHT'));

  const walletRefs = [...context.model.wallets.keys()].filter((ref) => driver.ids.has(ref));
  const readings = new Map<string, WalletReading>();
  for (const ref of walletRefs) {
    const wallet = context.model.wallets.get(ref)!;
    const read = await driver.t.api.get(`/wallets/${driver.id(ref)}`, { userId: driver.userId(wallet.userRef) });
    readings.set(ref, read.body as WalletReading);
  }

  for (const order of permutations(ordered)) {
    const model = context.model.clone();
    const originals = new Map<string, ApiResponse>();
    const outcomes: Outcome[] = [];
    let explains = true;
    for (const f of order) {
      const expected = f.call.apply(model);
      if (!sameAnswer(driver, f, expected, originals)) {
        explains = false;
        break;
      }
      if (f.call.scope !== undefined && expected.status < 300 && !expected.replayed) originals.set(f.call.scope, f.response);
      outcomes.push(expected);
    }
    if (!explains || !walletsAgree(model, readings)) continue;
    // This order explains the batch: the run's model moves on along it.
    context.model = model;
    order.forEach((f, i) => driver.checkAnswer(f.call, outcomes[i]!, f.response));
    for (const f of order) if (f.call.scope !== undefined) context.keyed.push(f.call);
    return order.map((f) => f.call);
  }
  const shown = fired.map((f) => `  ${f.call.label} -> ${f.response.status} ${JSON.stringify(f.response.body)}`).join('\n');
  throw new Error(`${label}: no serial order of the batch explains what the service answered and shows:\n${shown}\nwallets: ${JSON.stringify([...readings])}`);
}

function walletsAgree(model: MoneyModel, readings: Map<string, WalletReading>): boolean {
  for (const [ref, read] of readings) {
    const wallet = model.wallets.get(ref)!;
    if (read.balance !== wallet.balanceCents || read.fractionalBalance !== wallet.carryCentiCents || read.debt !== wallet.debtCents) return false;
    if (read.heldBalance !== undefined && read.heldBalance !== wallet.heldCents) return false;
  }
  return true;
}
