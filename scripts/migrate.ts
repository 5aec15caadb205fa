// Creates the database if missing and applies pending migrations (what `npm start` also does).
import { loadConfigFromProcess } from '../src/config/app-config';
import { prepareDatabase } from '../src/db/migrate';

const { database } = loadConfigFromProcess();
prepareDatabase(database.directUrl, undefined, { poolMode: database.poolMode }).catch((error: unknown) => {
  process.stderr.write(`migration failed: ${String(error)}\n`);
  process.exit(1);
});
