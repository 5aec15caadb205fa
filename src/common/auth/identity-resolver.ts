import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import type { IncomingHttpHeaders } from 'node:http';
import { AppConfig } from '../../config/app-config';
import { UnauthenticatedError } from '../errors/domain-errors';
import { Caller } from './caller';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
const BEARER = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/;

/**
 * Turns request headers into a caller, the same way for Nest routes (through the auth guard)
 * and for routes Nest's guards never see (the queue dashboard's Fastify plugin). `header` mode
 * trusts `X-User-Id` from an authenticating gateway; `jwt` mode verifies a bearer token's
 * signature and expiry.
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
    let payload: { sub?: unknown; roles?: unknown };
    try {
      payload = await this.jwt.verifyAsync(token, {
        ...(this.config.auth.jwtPublicKey
          ? { publicKey: this.config.auth.jwtPublicKey, algorithms: ['RS256', 'ES256'] }
          : { secret: this.config.auth.jwtSecret, algorithms: ['HS256'] }),
      });
    } catch {
      throw new UnauthenticatedError('The bearer token is invalid or expired');
    }
    if (typeof payload.sub !== 'string' || !UUID.test(payload.sub)) {
      throw new UnauthenticatedError('The token subject must be a UUID');
    }
    const userId = payload.sub.toLowerCase();
    const roles = Array.isArray(payload.roles) ? payload.roles : [];
    return { userId, isAdmin: roles.includes('admin') || this.adminIds.has(userId) };
  }
}
