import { Module } from '@nestjs/common';
import { IdempotencyModule } from '../idempotency/idempotency.module';
import { WalletsModule } from '../wallets/wallets.module';
import { PurchasesController } from './purchases.controller';
import { PurchasesRepository } from './purchases.repository';
import { PurchasesService } from './purchases.service';
import { RefundsController } from './refunds.controller';
import { RefundsRepository } from './refunds.repository';
import { RefundsService } from './refunds.service';

@Module({
  imports: [IdempotencyModule, WalletsModule],
  controllers: [PurchasesController, RefundsController],
  providers: [PurchasesService, PurchasesRepository, RefundsService, RefundsRepository],
})
export class PurchasesModule {}
