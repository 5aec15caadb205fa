import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentCaller } from '../common/auth/auth.decorators';
import { Caller } from '../common/auth/caller';
import { ApiProblems, ApiUuidParam } from '../common/http/api-docs';
import { UuidParamPipe } from '../common/http/uuid-param.pipe';
import { AuthorRoyaltiesDto } from './dto/authors.dto';
import { PeriodDto } from './dto/period.dto';
import { ReportsService } from './reports.service';

/** Lives under /wallets but reads the reports' rollups, so it belongs to this module. */
@ApiTags('reports')
@ApiProblems(401)
@Controller('wallets')
export class AuthorRoyaltiesController {
  constructor(private readonly reports: ReportsService) {}

  @Get(':walletId/royalties')
  @ApiOperation({
    summary: "An author's sales and royalties, all time or in [from, to), and the current carry (owner or admin)",
  })
  @ApiOkResponse({ type: AuthorRoyaltiesDto })
  @ApiProblems(400, 404)
  @ApiUuidParam('walletId', 'The wallet id')
  royalties(
    @CurrentCaller() caller: Caller,
    @Param('walletId', new UuidParamPipe('walletId')) walletId: string,
    @Query() query: PeriodDto,
  ): Promise<AuthorRoyaltiesDto> {
    return this.reports.authorRoyalties(caller, walletId, query);
  }
}
