import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import type { AppConfig } from '../config/app-config';
import { runsWorkers } from '../queue/queue.module';
import { PayoutRunProcessor } from './payout-run.processor';
import { PAYOUT_RUN_QUEUE } from './payout-schedule';
import { PayoutScheduleService } from './payout-schedule.service';
import { PayoutsModule } from './payouts.module';

/**
 * The optional PAYOUT_RUN_EVERY schedule (ADR 0018), in worker roles only. The queue and the
 * schedule keeper are there whatever the variable (unset, the keeper removes a schedule left in
 * Redis); the worker that runs the jobs only when it is set.
 */
@Module({})
export class PayoutScheduleModule {
  static register(config: Pick<AppConfig, 'role' | 'payoutRunEveryMs'>): DynamicModule {
    if (!runsWorkers(config.role)) return { module: PayoutScheduleModule };
    return {
      module: PayoutScheduleModule,
      imports: [PayoutsModule, BullModule.registerQueue({ name: PAYOUT_RUN_QUEUE })],
      providers: [PayoutScheduleService, ...(config.payoutRunEveryMs === undefined ? [] : [PayoutRunProcessor])],
    };
  }
}
