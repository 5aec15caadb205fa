import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentCaller } from '../common/auth/auth.decorators';
import { Caller } from '../common/auth/caller';
import { ApiIdempotencyKey, ApiProblems, ApiUuidParam, REPLAY_RESPONSE_HEADERS } from '../common/http/api-docs';
import { IdempotentOperation, OptionalIdempotencyKey, RequiredIdempotencyKey } from '../common/http/idempotency-key.decorator';
import { withReplayHeader } from '../common/http/replay';
import { UuidParamPipe } from '../common/http/uuid-param.pipe';
import { CapturePurchaseDto, CreatePurchaseDto, PurchaseDto } from './dto/purchase.dto';
import { PurchasePageDto, PurchaseSearchQueryDto } from './dto/purchase-search.dto';
import { PurchasesService } from './purchases.service';

@ApiTags('purchases')
@ApiProblems(401, 429)
@Controller('purchases')
export class PurchasesController {
  constructor(private readonly purchases: PurchasesService) {}

  @Post()
  @HttpCode(201)
  @IdempotentOperation('purchase')
  @ApiOperation({
    summary: 'Buy an item: charge the buyer, pay the author 70% (with centi-cent carry), the platform the rest',
    description:
      "The author is credited `itemPrice * 70 / 100` whole cents now; the remainder (centi-cents) accrues in the author wallet's " +
      '`fractionalBalance` and is swept into its balance whenever it reaches 100. Four 99-cent purchases credit the author ' +
      '69 + 69 + 69 + 70 = 277 cents and leave `fractionalBalance` 20. Requires `Idempotency-Key`: a retry with the same key ' +
      'and body answers the same 201 with `Idempotent-Replayed: true`; a 402 leaves the key free for a retry after a top-up.',
  })
  @ApiIdempotencyKey({ required: true })
  @ApiCreatedResponse({ type: PurchaseDto, headers: REPLAY_RESPONSE_HEADERS })
  @ApiProblems(
    'VALIDATION_FAILED',
    'IDEMPOTENCY_KEY_MISSING',
    'SELF_PURCHASE',
    'AUTHOR_WALLET_NOT_FOUND',
    'INSUFFICIENT_FUNDS',
    'WALLET_NOT_FOUND',
    409,
    422,
    503,
  )
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
        authorWalletId: body.authorWalletId?.toLowerCase(),
        itemPriceCents: body.itemPrice,
        idempotencyKey,
        itemId: body.itemId,
        metadata: body.metadata,
        capture: body.capture,
      }),
    );
  }

  @Post(':purchaseId/capture')
  @IdempotentOperation('capture')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Capture a hold (all of it, or a smaller amount): the split happens now, the rest goes back to the buyer',
    description:
      'For a purchase made with `capture: false` (the buyer wallet\'s owner, or an admin). The split uses the author\'s carry ' +
      'as it is now. The purchase is paid from the held money, so a capture never answers 402, even when the buyer fell ' +
      'into debt since the authorization. Capture, void and expiry race safely: exactly one wins, the others get 409 PURCHASE_NOT_AUTHORIZED; ' +
      'a hold past its `expiresAt` is not captured.',
  })
  @ApiIdempotencyKey({ required: false })
  @ApiOkResponse({ type: PurchaseDto, description: 'The completed purchase', headers: REPLAY_RESPONSE_HEADERS })
  @ApiProblems(
    'VALIDATION_FAILED',
    'PURCHASE_NOT_FOUND',
    'IDEMPOTENCY_KEY_IN_FLIGHT',
    'PURCHASE_NOT_AUTHORIZED',
    'CAPTURE_EXCEEDS_AUTHORIZED',
    'IDEMPOTENCY_KEY_REUSED',
    503,
  )
  @ApiUuidParam('purchaseId', 'The authorized purchase')
  async capture(
    @CurrentCaller() caller: Caller,
    @Param('purchaseId', new UuidParamPipe('purchaseId')) purchaseId: string,
    @Body() body: CapturePurchaseDto,
    @OptionalIdempotencyKey() idempotencyKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PurchaseDto> {
    return withReplayHeader(reply, await this.purchases.capture(caller, { purchaseId, amountCents: body.amount, idempotencyKey }));
  }

  @Post(':purchaseId/void')
  @IdempotentOperation('void')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Void a hold: the money goes back to the buyer (the buyer wallet\'s owner, or an admin)',
    description: 'Exactly one of capture, void and expiry wins; the others get 409 PURCHASE_NOT_AUTHORIZED.',
  })
  @ApiIdempotencyKey({ required: false })
  @ApiOkResponse({ type: PurchaseDto, description: 'The hold, now `voided`', headers: REPLAY_RESPONSE_HEADERS })
  @ApiProblems(400, 'PURCHASE_NOT_FOUND', 'IDEMPOTENCY_KEY_IN_FLIGHT', 'PURCHASE_NOT_AUTHORIZED', 'IDEMPOTENCY_KEY_REUSED', 503)
  @ApiUuidParam('purchaseId', 'The authorized purchase')
  async void(
    @CurrentCaller() caller: Caller,
    @Param('purchaseId', new UuidParamPipe('purchaseId')) purchaseId: string,
    @OptionalIdempotencyKey() idempotencyKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PurchaseDto> {
    return withReplayHeader(reply, await this.purchases.void(caller, { purchaseId, idempotencyKey }));
  }

  @Get()
  @ApiOperation({
    summary: 'Search purchases by buyer, author or item, newest first, with keyset pagination',
    description:
      'Name `buyerWalletId` or `authorWalletId` (a wallet of yours; an admin may name any, or only `itemId`, or nothing). ' +
      '`from` is inclusive, `to` exclusive. Follow `nextCursor` until it is null; a page costs one index range scan, ' +
      'whatever the number of purchases.',
  })
  @ApiOkResponse({ type: PurchasePageDto })
  @ApiProblems(400, 403, 'WALLET_NOT_FOUND')
  search(@CurrentCaller() caller: Caller, @Query() query: PurchaseSearchQueryDto): Promise<PurchasePageDto> {
    return this.purchases.search(caller, query);
  }

  @Get(':purchaseId')
  @ApiOperation({ summary: 'Read a purchase (buyer, author or admin)' })
  @ApiOkResponse({ type: PurchaseDto })
  @ApiProblems(400, 'PURCHASE_NOT_FOUND')
  @ApiUuidParam('purchaseId', 'The purchase id')
  get(
    @CurrentCaller() caller: Caller,
    @Param('purchaseId', new UuidParamPipe('purchaseId')) purchaseId: string,
  ): Promise<PurchaseDto> {
    return this.purchases.getPurchase(caller, purchaseId);
  }
}
