import { Controller, HttpCode, Post, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentCaller } from '../common/auth/auth.decorators';
import { Caller } from '../common/auth/caller';
import { ApiIdempotencyKey, ApiProblems, REPLAY_RESPONSE_HEADERS } from '../common/http/api-docs';
import { RequiredIdempotencyKey } from '../common/http/idempotency-key.decorator';
import { withReplayHeader } from '../common/http/replay';
import { PayoutRunDto } from './dto/payout-run.dto';
import { PayoutsService } from './payouts.service';

@ApiTags('payouts')
@ApiProblems(401, 429)
@Controller('admin/payout-runs')
export class PayoutRunsController {
  constructor(private readonly payouts: PayoutsService) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({
    summary: 'Create a pending payout for every wallet at or above PAYOUT_MINIMUM_CENTS that has a payout destination (admin)',
    description:
      'Each wallet is paid its whole balance (at most 1,000,000,000 cents per payout) to its stored destination. ' +
      '`Idempotency-Key` names the run: the same key again answers the same run (resuming it if it was cut short) ' +
      'and never pays a wallet twice; two runs at once pay each wallet once.',
  })
  @ApiIdempotencyKey({ required: true })
  @ApiCreatedResponse({ type: PayoutRunDto, headers: REPLAY_RESPONSE_HEADERS })
  @ApiProblems('IDEMPOTENCY_KEY_MISSING', 'FORBIDDEN', 503)
  async create(
    @CurrentCaller() caller: Caller,
    @RequiredIdempotencyKey() idempotencyKey: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PayoutRunDto> {
    return withReplayHeader(reply, await this.payouts.startPayoutRun(caller, idempotencyKey));
  }
}
