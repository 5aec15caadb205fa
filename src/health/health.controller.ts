import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags, getSchemaPath } from '@nestjs/swagger';
import { Public } from '../common/auth/auth.decorators';
import { ProblemDetailsDto } from '../common/errors/problem-details';
import { LivenessDto, ReadinessDto } from './dto/health.dto';
import { HealthService, ReadinessReport } from './health.service';

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get()
  @ApiOperation({ summary: 'Liveness: the process is up (no dependency checks)', security: [] })
  @ApiOkResponse({ description: 'The process is up', type: LivenessDto })
  liveness(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: PostgreSQL and Redis answer', security: [] })
  @ApiOkResponse({ description: 'Ready to serve', type: ReadinessDto })
  @ApiServiceUnavailableResponse({
    description: 'A dependency is down; `checks` names it',
    content: {
      'application/problem+json': {
        schema: { $ref: getSchemaPath(ProblemDetailsDto) },
        example: {
          type: 'urn:problem:service-unavailable',
          title: 'Service Unavailable',
          status: 503,
          detail: 'Not ready: redis unavailable',
          code: 'SERVICE_UNAVAILABLE',
          requestId: '5f0c6a5e-3f5b-4c41-9a5e-2f4f5b1c0d7e',
          checks: { postgres: 'up', redis: 'down' },
        },
      },
    },
  })
  readiness(): Promise<ReadinessReport> {
    return this.health.readiness();
  }
}
