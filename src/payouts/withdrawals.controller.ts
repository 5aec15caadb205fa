import { Body, Controller, Get, HttpCode, Param, Post, Put, Query, Res } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentCaller } from '../common/auth/auth.decorators';
import { Caller } from '../common/auth/caller';
import { ApiIdempotencyKey, ApiProblems, ApiUuidParam, REPLAY_RESPONSE_HEADERS } from '../common/http/api-docs';
import { IdempotentOperation, RequiredIdempotencyKey } from '../common/http/idempotency-key.decorator';
import { withReplayHeader } from '../common/http/replay';
import { UuidParamPipe } from '../common/http/uuid-param.pipe';
import {
  CreateWithdrawalDto,
  FailWithdrawalDto,
  PayoutDestinationDto,
  StoredPayoutDestinationDto,
  WithdrawalDto,
  WithdrawalListQueryDto,
  WithdrawalPageDto,
} from './dto/withdrawal.dto';
import { PayoutsService } from './payouts.service';

/** A wallet's withdrawals and payout destination. */
@ApiTags('payouts')
@ApiProblems(401, 429)
@Controller('wallets')
export class WalletWithdrawalsController {
  constructor(private readonly payouts: PayoutsService) {}

  @Post(':walletId/withdrawals')
  @IdempotentOperation('withdrawal')
  @HttpCode(201)
  @ApiOperation({
    summary: 'Withdraw cents from your wallet: a pending payout until the payment rail settles or fails it',
    description:
      'The money leaves `balance` at once and waits in the pending payouts account (`status: "pending"`); ' +
      '`POST /withdrawals/{id}/settle` marks it paid, `POST /withdrawals/{id}/fail` returns it to the wallet. ' +
      'Amounts below PAYOUT_MINIMUM_CENTS are refused with 422 PAYOUT_BELOW_MINIMUM. Requires `Idempotency-Key`; ' +
      'a 402 leaves the key free, so the same key may be retried after a deposit.',
  })
  @ApiIdempotencyKey({ required: true })
  @ApiCreatedResponse({ type: WithdrawalDto, headers: REPLAY_RESPONSE_HEADERS })
  @ApiProblems('VALIDATION_FAILED', 'IDEMPOTENCY_KEY_MISSING', 'INSUFFICIENT_FUNDS', 'WALLET_NOT_FOUND', 409, 422, 'PAYOUT_BELOW_MINIMUM', 503)
  @ApiUuidParam('walletId', 'The wallet id')
  async withdraw(
    @CurrentCaller() caller: Caller,
    @Param('walletId', new UuidParamPipe('walletId')) walletId: string,
    @Body() body: CreateWithdrawalDto,
    @RequiredIdempotencyKey() idempotencyKey: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<WithdrawalDto> {
    return withReplayHeader(
      reply,
      await this.payouts.withdraw(caller, { walletId, amountCents: body.amount, destination: body.destination, idempotencyKey }),
    );
  }

  @Get(':walletId/withdrawals')
  @ApiOperation({ summary: "The wallet's withdrawals, newest first, with keyset pagination (owner or admin)" })
  @ApiOkResponse({ type: WithdrawalPageDto })
  @ApiProblems(400, 'WALLET_NOT_FOUND')
  @ApiUuidParam('walletId', 'The wallet id')
  list(
    @CurrentCaller() caller: Caller,
    @Param('walletId', new UuidParamPipe('walletId')) walletId: string,
    @Query() query: WithdrawalListQueryDto,
  ): Promise<WithdrawalPageDto> {
    return this.payouts.listWithdrawals(caller, walletId, query);
  }

  @Put(':walletId/payout-destination')
  @ApiOperation({
    summary: "Store the wallet's default payout destination (owner or admin)",
    description: 'Payout runs (`POST /admin/payout-runs`) pay wallets that have one. A later call replaces it.',
  })
  @ApiOkResponse({ type: StoredPayoutDestinationDto })
  @ApiProblems('VALIDATION_FAILED', 'WALLET_NOT_FOUND')
  @ApiUuidParam('walletId', 'The wallet id')
  setDestination(
    @CurrentCaller() caller: Caller,
    @Param('walletId', new UuidParamPipe('walletId')) walletId: string,
    @Body() body: PayoutDestinationDto,
  ): Promise<StoredPayoutDestinationDto> {
    return this.payouts.setDestination(caller, walletId, body.destination);
  }
}

/** One withdrawal, and its transitions (the payment-provider integration, an admin). */
@ApiTags('payouts')
@ApiProblems(401, 429)
@Controller('withdrawals')
export class WithdrawalsController {
  constructor(private readonly payouts: PayoutsService) {}

  @Get(':withdrawalId')
  @ApiOperation({ summary: "A withdrawal and its status (the wallet's owner or an admin)" })
  @ApiOkResponse({ type: WithdrawalDto })
  @ApiProblems(400, 'WITHDRAWAL_NOT_FOUND')
  @ApiUuidParam('withdrawalId', 'The withdrawal id')
  get(
    @CurrentCaller() caller: Caller,
    @Param('withdrawalId', new UuidParamPipe('withdrawalId')) withdrawalId: string,
  ): Promise<WithdrawalDto> {
    return this.payouts.getWithdrawal(caller, withdrawalId);
  }

  @Post(':withdrawalId/settle')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Mark a pending payout paid (admin: the payment-provider integration)',
    description: 'Moves the cents from the pending payouts account to the payout account. Once: a payout that is no longer pending is 409 WITHDRAWAL_NOT_PENDING.',
  })
  @ApiOkResponse({ type: WithdrawalDto, description: 'The withdrawal, now `paid`' })
  @ApiProblems(400, 'FORBIDDEN', 'WITHDRAWAL_NOT_FOUND', 'WITHDRAWAL_NOT_PENDING', 503)
  @ApiUuidParam('withdrawalId', 'The withdrawal id')
  settle(
    @CurrentCaller() caller: Caller,
    @Param('withdrawalId', new UuidParamPipe('withdrawalId')) withdrawalId: string,
  ): Promise<WithdrawalDto> {
    return this.payouts.settle(caller, withdrawalId);
  }

  @Post(':withdrawalId/fail')
  @HttpCode(200)
  @ApiOperation({
    summary: 'Mark a pending payout failed: the money returns to the wallet (admin)',
    description:
      'Moves the cents from the pending payouts account back to the wallet (repaying its debt first, like any credit). ' +
      'Once: a payout that is no longer pending is 409 WITHDRAWAL_NOT_PENDING.',
  })
  @ApiOkResponse({ type: WithdrawalDto, description: 'The withdrawal, now `failed`' })
  @ApiProblems('VALIDATION_FAILED', 'FORBIDDEN', 'WITHDRAWAL_NOT_FOUND', 'WITHDRAWAL_NOT_PENDING', 503)
  @ApiUuidParam('withdrawalId', 'The withdrawal id')
  fail(
    @CurrentCaller() caller: Caller,
    @Param('withdrawalId', new UuidParamPipe('withdrawalId')) withdrawalId: string,
    @Body() body: FailWithdrawalDto,
  ): Promise<WithdrawalDto> {
    return this.payouts.fail(caller, withdrawalId, body.reason);
  }
}
