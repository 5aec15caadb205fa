import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { ProblemDetailsDto } from './common/errors/problem-details';

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
    .addApiKey(
      { type: 'apiKey', in: 'header', name: 'X-User-Id', description: 'AUTH_MODE=header: the caller, set by the gateway' },
      'user-id',
    )
    .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'AUTH_MODE=jwt' }, 'bearer')
    .addSecurityRequirements('user-id')
    .addSecurityRequirements('bearer')
    .build();
  return SwaggerModule.createDocument(app, config, { extraModels: [ProblemDetailsDto] });
}

export function setupSwagger(app: INestApplication): void {
  const document = buildOpenApiDocument(app);
  SwaggerModule.setup(SWAGGER_PATH, app, document, {
    jsonDocumentUrl: `${SWAGGER_PATH}-json`,
    swaggerOptions: { persistAuthorization: true },
  });
}
