import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { createSessionSqlClient, createSqlClient, Database } from './database';
import { trackPoolUsage } from './pool-usage';

@Global()
@Module({
  providers: [
    {
      provide: Database,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => {
        const applicationName = `wallet-${config.role}`;
        const { sql, usage } = trackPoolUsage(
          createSqlClient({
            url: config.database.url,
            poolMax: config.database.poolMax,
            applicationName,
            poolMode: config.database.poolMode,
          }),
          config.database.poolMax,
        );
        // Behind a transaction pooler, session advisory locks need sessions of their own (ADR 0051).
        const sessionSql =
          config.database.poolMode === 'transaction' ? createSessionSqlClient(config.database.directUrl, `${applicationName}-session`) : undefined;
        // Reads that may be slightly stale go to DATABASE_READ_URL while it keeps up (ADR 0053).
        const replica =
          config.database.readUrl === undefined
            ? undefined
            : {
                sql: createSqlClient({
                  url: config.database.readUrl,
                  poolMax: config.database.poolMax,
                  applicationName: `${applicationName}-read`,
                  poolMode: config.database.poolMode,
                  sessionRole: 'any',
                }),
                maxLagMs: config.database.readReplicaMaxLagMs,
              };
        return new Database(sql, usage, sessionSql, replica);
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
