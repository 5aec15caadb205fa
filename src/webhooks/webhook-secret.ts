import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';

/** Standard Webhooks: `whsec_` and the base64 of 24 to 64 random bytes; we use 32. */
export const SECRET_PREFIX = 'whsec_';
const SECRET_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const CIPHERTEXT_VERSION = 'v1';

/**
 * Used when WEBHOOK_SECRET_KEY is unset (development and tests): it is in the source, so a
 * database dump alone reveals the secrets it protects. Production sets its own key (ADR 0031).
 */
export const DEVELOPMENT_SECRET_KEY = 'development-only-webhook-secret-key-not-for-production';

export function generateSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(SECRET_BYTES).toString('base64')}`;
}

/**
 * Encrypts and decrypts endpoint secrets with AES-256-GCM under a key derived from
 * WEBHOOK_SECRET_KEY. The endpoint id is the associated data, so a ciphertext copied to another
 * endpoint's row does not decrypt.
 */
export class SecretBox {
  private readonly key: Buffer;

  constructor(secretKey: string) {
    this.key = createHash('sha256').update(`webhook-secrets:${secretKey}`).digest();
  }

  seal(secret: string, endpointId: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(endpointId));
    const body = Buffer.concat([cipher.update(secret, 'utf8'), cipher.final()]);
    return `${CIPHERTEXT_VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64url')}`;
  }

  open(sealed: string, endpointId: string): string {
    const [version, payload] = sealed.split(':');
    if (version !== CIPHERTEXT_VERSION || !payload) throw new Error('unknown webhook secret ciphertext format');
    const bytes = Buffer.from(payload, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', this.key, bytes.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(endpointId));
    decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  }
}

/**
 * The `webhook-signature` header of the Standard Webhooks specification: `v1,` and the base64
 * HMAC-SHA256 of `id.timestamp.body` under the secret's bytes; one signature per secret,
 * space-separated (the current one and, during a rotation's grace period, the previous one).
 */
export function signatureHeader(secrets: readonly string[], messageId: string, timestampSeconds: number, body: string): string {
  return secrets
    .map((secret) => {
      const key = Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
      return `v1,${createHmac('sha256', key).update(`${messageId}.${timestampSeconds}.${body}`).digest('base64')}`;
    })
    .join(' ');
}
