import { Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentCaller } from '../common/auth/auth.decorators';
import { Caller } from '../common/auth/caller';
import { ApiProblems, ApiUuidParam } from '../common/http/api-docs';
import { UuidParamPipe } from '../common/http/uuid-param.pipe';
import { ReconciliationQueuedDto, ReconciliationRunDto } from './dto/reconciliation-run.dto';
import { ReconciliationService } from './reconciliation.service';

@ApiTags('reconciliation')
@ApiProblems(401)
@Controller('admin/reconciliations')
export class ReconciliationController {
  constructor(private readonly reconciliation: ReconciliationService) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({
    summary: 'Queue a reconciliation run (admin); a run already queued or running is returned instead',
  })
  @ApiAcceptedResponse({ type: ReconciliationQueuedDto })
  @ApiProblems(403, 503)
  request(@CurrentCaller() caller: Caller): Promise<ReconciliationQueuedDto> {
    return this.reconciliation.requestRun(caller);
  }

  @Get(':runId')
  @ApiOperation({ summary: 'What a reconciliation run checked, what drifted and what was corrected (admin)' })
  @ApiOkResponse({ type: ReconciliationRunDto })
  @ApiProblems(400, 404)
  @ApiUuidParam('runId', 'The reconciliation run id')
  get(
    @CurrentCaller() caller: Caller,
    @Param('runId', new UuidParamPipe('runId')) runId: string,
  ): Promise<ReconciliationRunDto> {
    return this.reconciliation.getRun(caller, runId);
  }
}
