import { Body, Controller, Get, HttpCode, Param, Post, Query, Res, StreamableFile } from '@nestjs/common';
import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { BalanceAtDto, BalanceAtQueryDto, STATEMENT_COLUMNS, StatementQueryDto } from './dto/statement.dto';
import type { FastifyReply } from 'fastify';
import { CurrentCaller } from '../common/auth/auth.decorators';
import { Caller } from '../common/auth/caller';
import { ApiIdempotencyKey, ApiProblems, ApiUuidParam, REPLAY_RESPONSE_HEADERS } from '../common/http/api-docs';
import { IdempotentOperation, OptionalIdempotencyKey } from '../common/http/idempotency-key.decorator';
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

  @Get(':walletId/balance')
  @ApiOperation({
    summary: "The wallet's balance and royalty carry as they were at an instant (owner or admin)",
    description:
      'Postings made at or before `at` count. Exact to the millisecond: the latest position snapshot at or before `at` ' +
      'plus the postings and royalty rows made after it, so the cost does not grow with the history of the wallet (ADR 0068).',
  })
  @ApiOkResponse({ type: BalanceAtDto })
  @ApiProblems(400, 'WALLET_NOT_FOUND')
  @ApiUuidParam('walletId', 'The wallet id')
  balanceAt(
    @CurrentCaller() caller: Caller,
    @Param('walletId', new UuidParamPipe('walletId')) walletId: string,
    @Query() query: BalanceAtQueryDto,
  ): Promise<BalanceAtDto> {
    return this.wallets.balanceAt(caller, walletId, query.at);
  }

  @Get(':walletId/statement.csv')
  @ApiOperation({
    summary: "The wallet's postings in [from, to) as CSV, with opening and closing balances (owner or admin)",
    description:
      `RFC 4180 CSV with a header row (${STATEMENT_COLUMNS.join(', ')}): an \`opening_balance\` row (the balance before ` +
      '`from`), one row per posting oldest first with the running balance, a `closing_balance` row. Streamed from one ' +
      'database snapshot, a thousand postings at a time, so memory stays flat however long the statement is.',
  })
  @ApiProduces('text/csv')
  @ApiOkResponse({
    description: 'The statement',
    content: {
      'text/csv': {
        schema: { type: 'string', maxLength: 1_000_000_000 },
        example:
          'createdAt,type,amount,balance,id,transactionId,purchaseId\n' +
          '2026-10-01T00:00:00.000Z,opening_balance,,1000,,,\n' +
          '2026-10-02T10:30:00.000Z,purchase,-99,901,12345,5e3c1f7a-2b8d-4a6e-9f10-7c4d3b2a1e09,5e3c1f7a-2b8d-4a6e-9f10-7c4d3b2a1e09\n' +
          '2026-11-01T00:00:00.000Z,closing_balance,,901,,,\n',
      },
    },
  })
  @ApiProblems(400, 'WALLET_NOT_FOUND')
  @ApiUuidParam('walletId', 'The wallet id')
  async statement(
    @CurrentCaller() caller: Caller,
    @Param('walletId', new UuidParamPipe('walletId')) walletId: string,
    @Query() query: StatementQueryDto,
  ): Promise<StreamableFile> {
    const records = await this.wallets.statement(caller, walletId, query);
    const csv = Readable.from(records).pipe(stringify({ header: true, columns: [...STATEMENT_COLUMNS], record_delimiter: 'windows' }));
    return new StreamableFile(csv, { type: 'text/csv; charset=utf-8', disposition: 'attachment; filename="statement.csv"' });
  }

  @Post(':walletId/deposit')
  @IdempotentOperation('deposit')
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
