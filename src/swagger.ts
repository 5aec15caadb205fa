import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { ProblemDetailsDto } from './common/errors/problem-details';
import { completeOpenApiDocument } from './common/http/complete-openapi';

export const SWAGGER_PATH = 'api';

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Wallet & Royalty Service')
    .setDescription(
      'Prepaid wallets in integer cents, purchases that pay the author 70% (with a centi-cent carry), ' +
        'a double-entry ledger, and financial reports. Every error is RFC 9457 problem details carrying ' +
        'the request id that is also returned in `X-Request-Id`.',
    )
    .setVersion('1.0.0')
    // Relative: Swagger UI and clients reading /api-json call the host that served the document.
    .addServer('/', 'This service, on whichever host serves this document: local, staging or production')
    .addTag('wallets', 'Create and read wallets, deposit, and page through the ledger')
    .addTag('payouts', 'Withdrawals as payouts with a lifecycle (pending, paid, failed), payout destinations and payout runs')
    .addTag('purchases', 'Buy items with the royalty split, and read purchases')
    .addTag('reports', 'Financial reports (queued, then polled), author royalties and the author leaderboard')
    .addTag('reconciliation', 'Recompute everything from the ledger and read what drifted (administrators)')
    .addTag('health', 'Liveness, readiness and Prometheus metrics, for probes and scrapers')
    .addTag('events', 'The events of every money movement, in commit order, for consumers that follow a cursor')
    .addTag('webhooks', 'Endpoints that receive events as signed webhooks, and their deliveries (administrators)')
    .addApiKey(
      { type: 'apiKey', in: 'header', name: 'X-User-Id', description: 'AUTH_MODE=header: the caller, set by the gateway' },
      'user-id',
    )
    .addBearerAuth(
      {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description:
          'AUTH_MODE=jwt: a JWT whose `sub` is the user id and whose `roles` may contain `admin`. Verified as RFC8725 ' +
          '(JSON Web Token Best Current Practices) asks: algorithms pinned by the configured key, signature and `exp` checked.',
      },
      'bearer',
    )
    .addSecurityRequirements('user-id')
    .addSecurityRequirements('bearer')
    .build();
  const document = SwaggerModule.createDocument(app, config, { extraModels: [ProblemDetailsDto] });
  // Meant for the marketplace's own front ends and back-office tools, behind its gateway.
  document.servers = (document.servers ?? []).map((server) => ({ ...server, 'x-internal': true }));
  return completeOpenApiDocument(document);
}

export function setupSwagger(app: INestApplication): void {
  const document = buildOpenApiDocument(app);
  SwaggerModule.setup(SWAGGER_PATH, app, document, {
    jsonDocumentUrl: `${SWAGGER_PATH}-json`,
    swaggerOptions: { persistAuthorization: true },
  });
}
