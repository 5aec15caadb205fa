import { Injectable, OnModuleInit } from '@nestjs/common';
import { Database } from '../db/database';
import { MetricsService } from './metrics.service';

/** Hands the database pool's usage figures to the gauges that `/metrics` renders. */
@Injectable()
export class PoolUsageWatcher implements OnModuleInit {
  constructor(
    private readonly database: Database,
    private readonly metrics: MetricsService,
  ) {}

  onModuleInit(): void {
    this.metrics.watchPool(() => this.database.poolUsage());
  }
}
