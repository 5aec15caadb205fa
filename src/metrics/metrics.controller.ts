import { Controller, Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '../common/auth/auth.decorators';
import { MetricsService } from './metrics.service';

@ApiTags('health')
@Public()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiOperation({
    summary: 'Prometheus metrics (text exposition format)',
    description: 'For a Prometheus scrape job: HTTP latency by route, money operations by outcome, queues, reconciliation.',
    security: [],
  })
  @ApiOkResponse({
    description: 'Prometheus text format 0.0.4',
    content: {
      'text/plain': {
        schema: { type: 'string' },
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
