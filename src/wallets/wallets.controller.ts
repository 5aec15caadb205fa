import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentCaller } from '../common/auth/auth.decorators';
import { Caller } from '../common/auth/caller';
import { ApiIdempotencyKey, ApiProblems, ApiUuidParam, REPLAY_RESPONSE_HEADERS } from '../common/http/api-docs';
import { OptionalIdempotencyKey } from '../common/http/idempotency-key.decorator';
import { withReplayHeader } from '../common/http/replay';
import { UuidParamPipe } from '../common/http/uuid-param.pipe';
import { AmountDto } from './dto/amount.dto';
import { LedgerPageDto, LedgerQueryDto } from './dto/ledger.dto';
import { WalletDto } from './dto/wallet.dto';
import { WalletsService } from './wallets.service';

@ApiTags('wallets')
@ApiProblems(401, 429)
@Controller('wallets')
export class WalletsController {
  constructor(private readonly wallets: WalletsService) {}

  @Post()
  @ApiOperation({
    summary: "Create the caller's wallet (one per user); returns the existing one if present",
    description: 'No body. Safe to call again: a second call answers 200 with the same wallet.',
  })
  @ApiCreatedResponse({ type: WalletDto, description: 'Created' })
  @ApiOkResponse({ type: WalletDto, description: 'The caller already had this wallet' })
  async create(@CurrentCaller() caller: Caller, @Res({ passthrough: true }) reply: FastifyReply): Promise<WalletDto> {
    const { wallet, created } = await this.wallets.createWallet(caller);
    void reply.status(created ? 201 : 200);
    return wallet;
  }

  @Get(':walletId')
  @ApiOperation({
    summary: 'Read a wallet (owner or admin)',
    description: '`balance` is in cents; `fractionalBalance` is the royalty carry in centi-cents (0..99).',
  })
  @ApiOkResponse({ type: WalletDto })
  @ApiProblems(400, 'WALLET_NOT_FOUND')
  @ApiUuidParam('walletId', 'The wallet id')
  get(@CurrentCaller() caller: Caller, @Param('walletId', new UuidParamPipe('walletId')) walletId: string): Promise<WalletDto> {
    return this.wallets.getWallet(caller, walletId);
  }

  @Get(':walletId/ledger')
  @ApiOperation({ summary: "The wallet's postings, newest first, with keyset pagination (owner or admin)" })
  @ApiOkResponse({ type: LedgerPageDto })
  @ApiProblems(400, 'WALLET_NOT_FOUND')
  @ApiUuidParam('walletId', 'The wallet id')
  ledger(
    @CurrentCaller() caller: Caller,
    @Param('walletId', new UuidParamPipe('walletId')) walletId: string,
    @Query() query: LedgerQueryDto,
  ): Promise<LedgerPageDto> {
    return this.wallets.ledger(caller, walletId, query);
  }

  @Post(':walletId/deposit')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Deposit cents into your wallet (funded from the system funding account)',
    description:
      'Body `{"amount": 5000}` deposits 50.00 in integer cents. `Idempotency-Key` is optional here; ' +
      'when sent, a retry with the same key and body replays the first result and moves no money.',
  })
  @ApiIdempotencyKey({ required: false })
  @ApiCreatedResponse({ type: WalletDto, description: 'The wallet after the deposit', headers: REPLAY_RESPONSE_HEADERS })
  @ApiProblems('VALIDATION_FAILED', 'WALLET_NOT_FOUND', 409, 422, 503)
  @ApiUuidParam('walletId', 'The wallet id')
  async deposit(
    @CurrentCaller() caller: Caller,
    @Param('walletId', new UuidParamPipe('walletId')) walletId: string,
    @Body() body: AmountDto,
    @OptionalIdempotencyKey() idempotencyKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WalletDto> {
    return withReplayHeader(
      reply,
      await this.wallets.deposit(caller, { walletId, amountCents: body.amount, idempotencyKey }),
    );
  }
}
