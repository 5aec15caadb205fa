import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { bareHost, isBlockedAddress } from './webhook-url';

/** At most this much of a receiver's answer is read; the rest is discarded unread. */
export const RESPONSE_BYTES_MAX = 4_096;

export interface SendRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  allowPrivateNetworks: boolean;
}

export type SendResult =
  | { ok: true; statusCode: number; latencyMs: number }
  | { ok: false; statusCode: number | null; latencyMs: number; error: string };

export class BlockedAddressError extends Error {
  constructor(address: string) {
    super(`the receiver resolved to ${address}, a loopback, private, link-local or reserved address`);
  }
}

/**
 * Resolves like dns.lookup and refuses blocked addresses, so that the address checked is the one
 * connected to: a name that changed to a private address since registration (DNS rebinding)
 * fails here, at connect time.
 */
function guardedLookup(allowPrivateNetworks: boolean): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      const blocked = allowPrivateNetworks ? undefined : addresses.find((entry) => isBlockedAddress(entry.address));
      if (blocked) return callback(new BlockedAddressError(blocked.address), '', 0);
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
      callback(null, first.address, first.family);
    });
  };
}

/**
 * One POST to a receiver. A 2xx within `timeoutMs` (connect, headers and the bounded body read
 * together) is success; anything else, a 3xx included (redirects are never followed), fails.
 * Never throws.
 */
export function sendWebhook(request: SendRequest): Promise<SendResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise<SendResult>((resolve) => {
    let settled = false;
    let statusCode: number | null = null;
    const finish = (result: SendResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      resolve(result);
    };
    const fail = (error: string) => finish({ ok: false, statusCode, latencyMs: elapsed(), error });

    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      return fail('the endpoint URL does not parse');
    }
    const host = bareHost(url);
    // An IP literal skips the lookup hook, so it is checked here.
    if (!request.allowPrivateNetworks && isIP(host) !== 0 && isBlockedAddress(host)) {
      return fail(new BlockedAddressError(host).message);
    }

    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const outgoing = send(url, {
      method: 'POST',
      headers: { ...request.headers, 'content-length': Buffer.byteLength(request.body).toString() },
      lookup: guardedLookup(request.allowPrivateNetworks),
      agent: false,
    });
    const deadline = setTimeout(() => {
      fail(`no complete answer within ${request.timeoutMs} ms`);
      outgoing.destroy();
    }, request.timeoutMs);

    outgoing.on('error', (error) => fail(error.message.slice(0, 300)));
    outgoing.on('response', (response: IncomingMessage) => {
      statusCode = response.statusCode ?? null;
      let read = 0;
      response.on('data', (chunk: Buffer) => {
        read += chunk.length;
        // Enough to know the receiver answered; a huge or endless body is cut off.
        if (read >= RESPONSE_BYTES_MAX) response.destroy();
      });
      const done = () => {
        if (statusCode !== null && statusCode >= 200 && statusCode < 300) {
          finish({ ok: true, statusCode, latencyMs: elapsed() });
        } else {
          fail(`the receiver answered ${statusCode ?? 'without a status'}`);
        }
      };
      response.on('end', done);
      response.on('close', done);
      response.on('error', () => done());
    });
    outgoing.end(request.body);
  });
}
