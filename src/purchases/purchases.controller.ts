import { Body, Controller, Get, HttpCode, Param, Post, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentCaller } from '../common/auth/auth.decorators';
import { Caller } from '../common/auth/caller';
import { ApiIdempotencyKey, ApiProblems } from '../common/http/api-docs';
import { RequiredIdempotencyKey } from '../common/http/idempotency-key.decorator';
import { withReplayHeader } from '../common/http/replay';
import { UuidParamPipe } from '../common/http/uuid-param.pipe';
import { CreatePurchaseDto, PurchaseDto } from './dto/purchase.dto';
import { PurchasesService } from './purchases.service';

@ApiTags('purchases')
@ApiProblems(401)
@Controller('purchases')
export class PurchasesController {
  constructor(private readonly purchases: PurchasesService) {}

  @Post()
  @HttpCode(201)
  @ApiOperation({
    summary: 'Buy an item: charge the buyer, pay the author 70% (with centi-cent carry), the platform the rest',
  })
  @ApiIdempotencyKey({ required: true })
  @ApiCreatedResponse({ type: PurchaseDto })
  @ApiProblems(400, 402, 404, 409, 422, 503)
  async create(
    @CurrentCaller() caller: Caller,
    @Body() body: CreatePurchaseDto,
    @RequiredIdempotencyKey() idempotencyKey: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PurchaseDto> {
    return withReplayHeader(
      reply,
      await this.purchases.purchase(caller, {
        buyerWalletId: body.buyerWalletId.toLowerCase(),
        authorWalletId: body.authorWalletId.toLowerCase(),
        itemPriceCents: body.itemPrice,
        idempotencyKey,
      }),
    );
  }

  @Get(':purchaseId')
  @ApiOperation({ summary: 'Read a purchase (buyer, author or admin)' })
  @ApiOkResponse({ type: PurchaseDto })
  @ApiProblems(400, 404)
  get(
    @CurrentCaller() caller: Caller,
    @Param('purchaseId', new UuidParamPipe('purchaseId')) purchaseId: string,
  ): Promise<PurchaseDto> {
    return this.purchases.getPurchase(caller, purchaseId);
  }
}
