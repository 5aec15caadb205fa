import { Module } from '@nestjs/common';
import { IdempotencyModule } from '../idempotency/idempotency.module';
import { WalletsModule } from '../wallets/wallets.module';
import { PayoutRunsController } from './payout-runs.controller';
import { PayoutsMetrics } from './payouts.metrics';
import { PayoutsRepository } from './payouts.repository';
import { PayoutsService } from './payouts.service';
import { WalletWithdrawalsController, WithdrawalsController } from './withdrawals.controller';

/** Withdrawals as payouts with a lifecycle, destinations and payout runs (ADR 0018). */
@Module({
  imports: [IdempotencyModule, WalletsModule],
  controllers: [WalletWithdrawalsController, WithdrawalsController, PayoutRunsController],
  providers: [PayoutsService, PayoutsRepository, PayoutsMetrics],
  exports: [PayoutsService],
})
export class PayoutsModule {}
