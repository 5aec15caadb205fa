import { Module } from '@nestjs/common';
import { HoldsModule } from '../holds/holds.module';
import { IdempotencyModule } from '../idempotency/idempotency.module';
import { WalletsModule } from '../wallets/wallets.module';
import { PurchasesController } from './purchases.controller';
import { PurchasesRepository } from './purchases.repository';
import { PurchasesService } from './purchases.service';
import { RefundsController } from './refunds.controller';
import { RefundsRepository } from './refunds.repository';
import { RefundsService } from './refunds.service';
import { RoyaltyTermsController } from './royalty-terms.controller';
import { RoyaltyTermsRepository } from './royalty-terms.repository';
import { RoyaltyTermsService } from './royalty-terms.service';

@Module({
  imports: [IdempotencyModule, WalletsModule, HoldsModule],
  controllers: [PurchasesController, RefundsController, RoyaltyTermsController],
  providers: [PurchasesService, PurchasesRepository, RefundsService, RefundsRepository, RoyaltyTermsService, RoyaltyTermsRepository],
})
export class PurchasesModule {}
