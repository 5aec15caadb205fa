import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import type { AppRole } from '../config/app-config';
import { runsWorkers } from '../queue/queue.module';
import { ReconciliationController } from './reconciliation.controller';
import { ReconciliationProcessor } from './reconciliation.processor';
import { RECONCILIATION_QUEUE } from './reconciliation.queue';
import { IncrementalReconciliationRepository } from './reconciliation-incremental.repository';
import { ReconciliationRepository } from './reconciliation.repository';
import { ReconciliationService } from './reconciliation.service';
import { ReconciliationSweeper } from './reconciliation.sweeper';

/** The reconciliation backstop: admin endpoints everywhere, the worker and schedule in worker roles. */
@Module({})
export class ReconciliationModule {
  static register(role: AppRole): DynamicModule {
    return {
      module: ReconciliationModule,
      imports: [BullModule.registerQueue({ name: RECONCILIATION_QUEUE })],
      controllers: [ReconciliationController],
      providers: [
        ReconciliationService,
        ReconciliationRepository,
        IncrementalReconciliationRepository,
        ...(runsWorkers(role) ? [ReconciliationProcessor, ReconciliationSweeper] : []),
      ],
      exports: [ReconciliationService],
    };
  }
}
