import { Controller, Get, Header, UseGuards } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../common/auth/auth.decorators';
import { ApiProblems } from '../common/http/api-docs';
import { MetricsTokenGuard } from './metrics-token.guard';
import { MetricsService } from './metrics.service';

@ApiTags('health')
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @UseGuards(MetricsTokenGuard)
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiOperation({
    summary: 'Prometheus metrics (text exposition format)',
    description:
      'For a Prometheus scrape job: HTTP latency by route, money operations by outcome, database pool usage, queues, ' +
      'reconciliation. When the service is configured with METRICS_TOKEN, the scraper must send ' +
      '`Authorization: Bearer <METRICS_TOKEN>`; without it the answer is 401.',
    security: [],
  })
  @ApiProblems('METRICS_TOKEN_REQUIRED')
  @ApiOkResponse({
    description: 'Prometheus text format 0.0.4',
    content: {
      'text/plain': {
        // A bound for the document's linters; a scrape is tens of KiB.
        schema: { type: 'string', maxLength: 4_194_304 },
        example:
          '# HELP wallet_operations_total Money operations by kind and outcome\n' +
          '# TYPE wallet_operations_total counter\n' +
          'wallet_operations_total{operation="purchase",outcome="completed"} 42\n',
      },
    },
  })
  render(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}
