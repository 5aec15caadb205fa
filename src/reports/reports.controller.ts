import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentCaller } from '../common/auth/auth.decorators';
import { Caller } from '../common/auth/caller';
import { ApiProblems, ApiUuidParam } from '../common/http/api-docs';
import { UuidParamPipe } from '../common/http/uuid-param.pipe';
import { TopAuthorsDto, TopAuthorsQueryDto } from './dto/authors.dto';
import { CreateFinancialReportDto, FinancialReportDto, ReportQueuedDto } from './dto/financial-report.dto';
import { ReportsService } from './reports.service';

@ApiTags('reports')
@ApiProblems(401)
@Controller('reports')
export class ReportsController {
  constructor(private readonly reports: ReportsService) {}

  @Post('financial')
  @HttpCode(202)
  @ApiOperation({
    summary: 'Queue a financial report (admin): all-time without a body, or for the period [from, to)',
  })
  @ApiBody({
    type: CreateFinancialReportDto,
    required: false,
    examples: {
      allTime: { summary: 'All time, from the running totals', value: {} },
      period: {
        summary: 'A period, exact to the millisecond',
        value: { from: '2026-10-01T00:00:00.000Z', to: '2026-11-01T00:00:00.000Z' },
      },
    },
  })
  @ApiAcceptedResponse({
    type: ReportQueuedDto,
    headers: { Location: { description: 'Where to poll the report', schema: { type: 'string', pattern: '^/reports/financial/[0-9a-f-]{36}$', maxLength: 55, example: '/reports/financial/0b9f7c52-5d1e-4c1a-9a57-2f3e4d5c6b7a' } } },
  })
  @ApiProblems(400, 403, 503)
  async create(
    @CurrentCaller() caller: Caller,
    @Body() body: CreateFinancialReportDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ReportQueuedDto> {
    const queued = await this.reports.requestFinancialReport(caller, body ?? {});
    void reply.header('Location', `/reports/financial/${queued.jobId}`);
    return queued;
  }

  @Get('financial/:jobId')
  @ApiOperation({ summary: 'A financial report: queued, processing, completed (with result) or failed (with error)' })
  @ApiOkResponse({
    type: FinancialReportDto,
    content: {
      'application/json': {
        examples: {
          queued: {
            summary: 'Waiting for a worker',
            value: { jobId: '0b9f7c52-5d1e-4c1a-9a57-2f3e4d5c6b7a', status: 'queued', result: null, error: null, createdAt: '2026-11-21T10:30:00.000Z', completedAt: null },
          },
          allTime: {
            summary: 'Completed, all time',
            value: {
              jobId: '0b9f7c52-5d1e-4c1a-9a57-2f3e4d5c6b7a',
              status: 'completed',
              result: {
                totalDeposited: 12_500_000, totalPurchaseVolume: 8_400_350, totalRoyaltiesPaid: 5_880_240, platformRevenue: 2_520_110,
                totalWithdrawn: 1_200_000, purchaseCount: 4211, from: null, to: null, generatedAt: '2026-11-21T10:30:02.117Z',
              },
              error: null,
              createdAt: '2026-11-21T10:30:00.000Z',
              completedAt: '2026-11-21T10:30:02.130Z',
            },
          },
          period: {
            summary: 'Completed, for a period',
            value: {
              jobId: '6f1d2e3c-4b5a-4978-8c6d-5e4f3a2b1c0d',
              status: 'completed',
              result: {
                totalDeposited: 410_000, totalPurchaseVolume: 276_310, totalRoyaltiesPaid: 193_401, platformRevenue: 82_909,
                totalWithdrawn: 50_000, purchaseCount: 139, from: '2026-10-01T00:00:00.000Z', to: '2026-11-01T00:00:00.000Z',
                generatedAt: '2026-11-21T10:31:00.412Z',
              },
              error: null,
              createdAt: '2026-11-21T10:31:00.000Z',
              completedAt: '2026-11-21T10:31:00.420Z',
            },
          },
          failed: {
            summary: 'Failed',
            value: {
              jobId: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
              status: 'failed',
              result: null,
              error: 'The stored report period is invalid: to must be later than from',
              createdAt: '2026-11-21T10:32:00.000Z',
              completedAt: '2026-11-21T10:32:00.050Z',
            },
          },
        },
      },
    },
  })
  @ApiProblems(400, 404)
  @ApiUuidParam('jobId', 'The report id (jobId of POST /reports/financial)')
  get(@CurrentCaller() caller: Caller, @Param('jobId', new UuidParamPipe('jobId')) jobId: string): Promise<FinancialReportDto> {
    return this.reports.getFinancialReport(caller, jobId);
  }

  @Get('authors/top')
  @ApiOperation({
    summary: 'Top authors (each payee with its own part) by royalties in [from, to), optionally of one itemId (admin); ties by authorWalletId ascending',
  })
  @ApiOkResponse({ type: TopAuthorsDto })
  @ApiProblems(400, 403)
  topAuthors(@CurrentCaller() caller: Caller, @Query() query: TopAuthorsQueryDto): Promise<TopAuthorsDto> {
    return this.reports.topAuthors(caller, query);
  }
}
