import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { IncomingHttpHeaders } from 'node:http';
import { AppConfig } from '../../config/app-config';
import { UnauthenticatedError } from '../errors/domain-errors';
import { Caller } from './caller';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
/**
 * `Bearer <compact JWS>`. The scheme is case-insensitive and the separator one or more spaces
 * (RFC 7235 section 2.1, RFC 6750 section 2.1); Node has already trimmed the header's ends.
 */
const BEARER = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/i;

/**
 * Turns request headers into a caller, the same way for Nest routes (through the auth guard)
 * and for routes Nest's guards never see (the queue dashboard's Fastify plugin). `header` mode
 * trusts `X-User-Id` from an authenticating gateway; `jwt` mode verifies a bearer token's
 * signature, its required expiry, and its issuer and audience when configured (ADR 0037).
 */
@Injectable()
export class IdentityResolver {
  private readonly adminIds: ReadonlySet<string>;

  constructor(
    private readonly config: AppConfig,
    private readonly jwt: JwtService,
  ) {
    this.adminIds = new Set([config.platformAccountId, ...config.auth.adminUserIds].map((id) => id.toLowerCase()));
  }

  /** The caller named by the headers; throws UnauthenticatedError when missing or malformed. */
  resolve(headers: IncomingHttpHeaders): Promise<Caller> | Caller {
    return this.config.auth.mode === 'jwt' ? this.fromJwt(headers.authorization) : this.fromHeader(headers['x-user-id']);
  }

  private fromHeader(header: string | string[] | undefined): Caller {
    if (typeof header !== 'string' || !UUID.test(header)) {
      throw new UnauthenticatedError('X-User-Id must be a UUID');
    }
    const userId = header.toLowerCase();
    return { userId, isAdmin: this.adminIds.has(userId) };
  }

  private async fromJwt(header: string | undefined): Promise<Caller> {
    const token = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
    if (!token) throw new UnauthenticatedError('Authorization must be "Bearer <JWT>"');
    // `crit` lists header extensions the recipient must understand or refuse (RFC 7515
    // section 4.1.11); this service understands none, and jsonwebtoken does not look.
    const joseHeader: unknown = (this.jwt.decode(token, { complete: true }) as { header?: unknown } | null)?.header;
    if (typeof joseHeader === 'object' && joseHeader !== null && Object.hasOwn(joseHeader, 'crit')) {
      throw new UnauthenticatedError('The bearer token names critical header extensions (crit) this service does not support');
    }
    const { jwtIssuer, jwtAudience } = this.config.auth;
    let payload: { sub?: unknown; roles?: unknown; exp?: unknown };
    try {
      payload = await this.jwt.verifyAsync(token, {
        ...(this.config.auth.jwtPublicKey
          ? { publicKey: this.config.auth.jwtPublicKey, algorithms: ['RS256', 'ES256'] }
          : { secret: this.config.auth.jwtSecret, algorithms: ['HS256'] }),
        ...(jwtIssuer === undefined ? {} : { issuer: jwtIssuer }),
        ...(jwtAudience === undefined ? {} : { audience: jwtAudience }),
      });
    } catch {
      throw new UnauthenticatedError('The bearer token is invalid or expired');
    }
    // jsonwebtoken checks `exp` only when it is present; a token without one would never expire.
    if (typeof payload.exp !== 'number') {
      throw new UnauthenticatedError('The bearer token must carry an expiry (exp)');
    }
    if (typeof payload.sub !== 'string' || !UUID.test(payload.sub)) {
      throw new UnauthenticatedError('The token subject must be a UUID');
    }
    const userId = payload.sub.toLowerCase();
    const roles = Array.isArray(payload.roles) ? payload.roles : [];
    return { userId, isAdmin: roles.includes('admin') || this.adminIds.has(userId) };
  }
}
