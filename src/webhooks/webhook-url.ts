import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Addresses a webhook may never reach unless WEBHOOK_ALLOW_PRIVATE_NETWORKS=true (ADR 0031):
 * loopback, private, shared (CGNAT), link-local (cloud metadata at 169.254.169.254 and
 * fd00:ec2::254), unspecified, multicast, reserved and documentation ranges, and NAT64.
 */
const BLOCKED = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  BLOCKED.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  BLOCKED.addSubnet(network, prefix, 'ipv6');
}

const IPV4_MAPPED = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;
const IPV4_MAPPED_HEX = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i;

/** Whether an IP address (v4 or v6 text) is one a webhook must not reach. */
export function isBlockedAddress(address: string): boolean {
  const mapped = IPV4_MAPPED.exec(address);
  if (mapped) return isBlockedAddress(mapped[1]!);
  const mappedHex = IPV4_MAPPED_HEX.exec(address);
  if (mappedHex) {
    const high = parseInt(mappedHex[1]!, 16);
    const low = parseInt(mappedHex[2]!, 16);
    return isBlockedAddress(`${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`);
  }
  const family = isIP(address);
  if (family === 0) return true;
  return BLOCKED.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export interface UrlPolicy {
  /** Only https (production); otherwise http is accepted too. */
  httpsOnly: boolean;
  allowPrivateNetworks: boolean;
}

export const WEBHOOK_URL_LENGTH_MAX = 2048;

/** Why a URL is refused, in words for the 400's `errors[].message`; undefined when it is fine. */
export type UrlVerdict = { ok: true; url: URL } | { ok: false; reason: string };

/** The checks that need no network: scheme, credentials, host, length. */
export function checkUrlShape(raw: string, policy: UrlPolicy): UrlVerdict {
  if (raw.length > WEBHOOK_URL_LENGTH_MAX) return { ok: false, reason: `url must be at most ${WEBHOOK_URL_LENGTH_MAX} characters` };
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: 'url must be an absolute URL such as https://hooks.example.com/wallet' };
  }
  const schemes = policy.httpsOnly ? ['https:'] : ['https:', 'http:'];
  if (!schemes.includes(url.protocol)) {
    return { ok: false, reason: policy.httpsOnly ? 'url must use https' : 'url must use https or http' };
  }
  if (url.username || url.password) return { ok: false, reason: 'url must not carry credentials' };
  if (url.hash) return { ok: false, reason: 'url must not have a #fragment' };
  if (!url.hostname) return { ok: false, reason: 'url must name a host' };
  return { ok: true, url };
}

/** The host without IPv6 brackets, as dns.lookup and net.isIP take it. */
export function bareHost(url: URL): string {
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

/**
 * Resolves the URL's host and refuses it when any address is blocked (a name with one public
 * and one private address is refused: a client may connect to either). Checked at registration
 * and again at every delivery, where the addresses checked are the ones connected to.
 */
export async function checkUrlTarget(url: URL, policy: UrlPolicy, resolve: typeof lookup = lookup): Promise<UrlVerdict> {
  if (policy.allowPrivateNetworks) return { ok: true, url };
  const host = bareHost(url);
  let addresses: string[];
  if (isIP(host) !== 0) {
    addresses = [host];
  } else {
    try {
      addresses = (await resolve(host, { all: true, verbatim: true })).map((entry) => entry.address);
    } catch {
      return { ok: false, reason: `url host ${host} does not resolve` };
    }
  }
  const blocked = addresses.find(isBlockedAddress);
  if (blocked !== undefined) {
    return { ok: false, reason: `url resolves to ${blocked}, a loopback, private, link-local or reserved address` };
  }
  return { ok: true, url };
}
