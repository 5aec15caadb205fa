import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { createSqlClient, Database } from './database';
import { trackPoolUsage } from './pool-usage';

@Global()
@Module({
  providers: [
    {
      provide: Database,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => {
        const { sql, usage } = trackPoolUsage(
          createSqlClient({
            url: config.database.url,
            poolMax: config.database.poolMax,
            applicationName: `wallet-${config.role}`,
          }),
          config.database.poolMax,
        );
        return new Database(sql, usage);
      },
    },
  ],
  exports: [Database],
})
export class DatabaseModule implements OnApplicationShutdown {
  constructor(@Inject(Database) private readonly database: Database) {}

  async onApplicationShutdown(): Promise<void> {
    await this.database.close();
  }
}
