import { createHash } from 'node:crypto';

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

function canonical(value: Json): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value).sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonical(value[key]!)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** A stable hash of what a request asks for; key order in the JSON body does not matter. */
export function requestFingerprint(operation: string, payload: { [key: string]: Json }): string {
  return createHash('sha256').update(`${operation}\n${canonical(payload)}`).digest('base64url');
}
