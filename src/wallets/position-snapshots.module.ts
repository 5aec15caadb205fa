import { DynamicModule, Module } from '@nestjs/common';
import type { AppRole } from '../config/app-config';
import { runsWorkers } from '../queue/queue.module';
import { PositionSnapshotsRepository, PositionSnapshotsSweeper } from './position-snapshots';

/** Position snapshots for balance?at= (ADR 0068): the sweep runs in worker roles only. */
@Module({})
export class PositionSnapshotsModule {
  static register(role: AppRole): DynamicModule {
    return {
      module: PositionSnapshotsModule,
      providers: [PositionSnapshotsRepository, ...(runsWorkers(role) ? [PositionSnapshotsSweeper] : [])],
      exports: [PositionSnapshotsRepository],
    };
  }
}
