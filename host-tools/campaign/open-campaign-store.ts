// Where a campaign's state is kept: a postgres:// (or postgresql://) URL names a PostgreSQL database, anything
// else is a SQLite file.
import * as fs from 'fs';
import { UsageError } from '../link/port-option';
import { CampaignStore } from './campaign-store';
import { isPostgresUrl, PostgresDatabase } from './postgres-database';
import { SqlCampaignStore } from './sql-campaign-store';
import { SqliteDatabase } from './sqlite-database';

export interface OpenOptions {
  /** Only reads (status, reports): no tables are created. */
  readonly?: boolean;
  /** The campaign must exist already; if not, a usage error says this (what to do instead). */
  ifMissing?: string;
}

export async function openCampaignStore(where: string, opts: OpenOptions = {}): Promise<CampaignStore> {
  const missing = (at: string) => new UsageError(`no campaign state at ${at}: ${opts.ifMissing}`);
  if (!isPostgresUrl(where) && opts.ifMissing !== undefined && !fs.existsSync(where)) throw missing(where);
  const db = isPostgresUrl(where) ? await PostgresDatabase.open(where) : SqliteDatabase.open(where, { readonly: opts.readonly });
  // A campaign that must exist has its tables: none are created where it turns out not to.
  const createTables = !opts.readonly && opts.ifMissing === undefined;
  const store = await SqlCampaignStore.open(db, { createTables }).catch(async (e) => {
    await db.close();
    throw e;
  });
  if (opts.ifMissing !== undefined && !(await store.initialised())) {
    await store.close();
    throw missing(store.where);
  }
  return store;
}
