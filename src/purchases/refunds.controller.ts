import { Body, Controller, HttpCode, Param, Post, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentCaller } from '../common/auth/auth.decorators';
import { Caller } from '../common/auth/caller';
import { ApiIdempotencyKey, ApiProblems, ApiUuidParam, REPLAY_RESPONSE_HEADERS } from '../common/http/api-docs';
import { IdempotentOperation, RequiredIdempotencyKey } from '../common/http/idempotency-key.decorator';
import { withReplayHeader } from '../common/http/replay';
import { UuidParamPipe } from '../common/http/uuid-param.pipe';
import { CreateRefundDto, RefundDto } from './dto/refund.dto';
import { RefundsService } from './refunds.service';

@ApiTags('purchases')
@ApiProblems(401, 429)
@Controller('purchases')
export class RefundsController {
  constructor(private readonly refunds: RefundsService) {}

  @Post(':purchaseId/refunds')
  @IdempotentOperation('refund')
  @HttpCode(201)
  @ApiOperation({
    summary: "Refund a purchase, fully or in part: the buyer gets the cents back, the author's royalty is taken back to the centi-cent",
    description:
      'An admin or the purchase\'s author. `amount` defaults to everything not yet refunded. The author side gives up exactly ' +
      '`amount * royaltyPercent` centi-cents of its position `100 * balance + fractionalBalance`, the platform the rest. ' +
      'Example: four 99-cent sales credit the author 69, 69, 69 and 70 cents (277 cents, fractionalBalance 20); refunding ' +
      'the third takes back 6930 centi-cents: authorAmount 70, platformAmount 29, the author at 207 cents and ' +
      'fractionalBalance 90. What the author cannot cover (it already withdrew) becomes its `debt`; the buyer is refunded ' +
      'all the same. Requires `Idempotency-Key`, with the same rules as purchases.',
  })
  @ApiIdempotencyKey({ required: true })
  @ApiUuidParam('purchaseId', 'The purchase to refund')
  @ApiCreatedResponse({ type: RefundDto, headers: REPLAY_RESPONSE_HEADERS })
  @ApiProblems('VALIDATION_FAILED', 'IDEMPOTENCY_KEY_MISSING', 'PURCHASE_NOT_FOUND', 409, 'REFUND_EXCEEDS_REMAINING', 422, 503)
  async create(
    @CurrentCaller() caller: Caller,
    @Param('purchaseId', new UuidParamPipe('purchaseId')) purchaseId: string,
    @Body() body: CreateRefundDto,
    @RequiredIdempotencyKey() idempotencyKey: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<RefundDto> {
    return withReplayHeader(
      reply,
      await this.refunds.refund(caller, { purchaseId, amountCents: body.amount, reason: body.reason, idempotencyKey }),
    );
  }
}
