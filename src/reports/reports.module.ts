import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import type { AppRole } from '../config/app-config';
import { runsWorkers } from '../queue/queue.module';
import { WalletsModule } from '../wallets/wallets.module';
import { AuthorRoyaltiesController } from './author-royalties.controller';
import { ReportsController } from './reports.controller';
import { ReportsProcessor } from './reports.processor';
import { REPORTS_QUEUE } from './reports.queue';
import { ReportsRepository } from './reports.repository';
import { ReportsService } from './reports.service';
import { ReportsSweeper } from './reports.sweeper';

/** Financial reports, author royalties and the leaderboard; the worker only in worker roles. */
@Module({})
export class ReportsModule {
  static register(role: AppRole): DynamicModule {
    return {
      module: ReportsModule,
      imports: [BullModule.registerQueue({ name: REPORTS_QUEUE }), WalletsModule],
      controllers: [ReportsController, AuthorRoyaltiesController],
      providers: [ReportsService, ReportsRepository, ...(runsWorkers(role) ? [ReportsProcessor, ReportsSweeper] : [])],
    };
  }
}
