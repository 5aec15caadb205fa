import { Injectable } from '@nestjs/common';
import { sql } from 'drizzle-orm';
import { Database } from '../db/database';

@Injectable()
export class HealthRepository {
  constructor(private readonly database: Database) {}

  async ping(): Promise<void> {
    await this.database.db.execute(sql`SELECT 1`);
  }
}
