import { Module } from '@nestjs/common';
import { WalletsModule } from '../wallets/wallets.module';
import { HoldsRepository } from './holds.repository';
import { HoldsService } from './holds.service';

/** Purchase holds: authorize, capture, void, expiry (ADR 0018). The purchases module serves them over HTTP. */
@Module({
  imports: [WalletsModule],
  providers: [HoldsService, HoldsRepository],
  exports: [HoldsService],
})
export class HoldsModule {}
