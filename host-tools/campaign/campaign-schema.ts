// The campaign tables in each database's words, side by side so they stay the same tables. Rows keep the
// order they were inserted in: SQLite as its rowid, PostgreSQL in a column of that name. PostgreSQL's
// integers are BIGINT, as times are milliseconds since 1970 and file versions 32-bit unsigned. A hub's bench is ''
// in a campaign one runner runs; `benches` lists the plan's benches, and each run says which it works for.
import { SqlDialect } from './sql-database';

const SQLITE = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stages (idx INTEGER PRIMARY KEY, name TEXT NOT NULL, state TEXT NOT NULL, gate TEXT, gate_by TEXT, started INTEGER,
  finished INTEGER);
CREATE TABLE IF NOT EXISTS benches (name TEXT PRIMARY KEY, timeout INTEGER);
CREATE TABLE IF NOT EXISTS hubs (id TEXT PRIMARY KEY, bench TEXT NOT NULL DEFAULT '', stage_idx INTEGER NOT NULL, variant TEXT NOT NULL,
  region TEXT NOT NULL, state TEXT NOT NULL, fw TEXT, error TEXT, job_watermark INTEGER, started INTEGER, finished INTEGER);
CREATE TABLE IF NOT EXISTS units (hub_id TEXT NOT NULL, eui TEXT NOT NULL, type TEXT NOT NULL, goal TEXT NOT NULL, stage TEXT NOT NULL,
  percent INTEGER NOT NULL DEFAULT 0, code INTEGER, reason TEXT, job_id INTEGER, version INTEGER, reads INTEGER NOT NULL DEFAULT 0,
  updated INTEGER NOT NULL, PRIMARY KEY (hub_id, eui));
-- A target enters each stage at most once.
CREATE TABLE IF NOT EXISTS transitions (seq INTEGER PRIMARY KEY AUTOINCREMENT, hub_id TEXT NOT NULL, eui TEXT NOT NULL, stage TEXT NOT NULL,
  t INTEGER NOT NULL, UNIQUE (hub_id, eui, stage));
-- An alert is the hub's (id, time): seen again after a restart it is not recorded twice.
CREATE TABLE IF NOT EXISTS alerts (hub_id TEXT NOT NULL, alert_id INTEGER NOT NULL, time INTEGER NOT NULL, code INTEGER NOT NULL,
  eui TEXT NOT NULL, file_version INTEGER, response_code INTEGER, activation_status INTEGER, recorded INTEGER NOT NULL, acked INTEGER,
  PRIMARY KEY (hub_id, alert_id, time));
CREATE TABLE IF NOT EXISTS runs (seq INTEGER PRIMARY KEY AUTOINCREMENT, pid INTEGER NOT NULL, host TEXT NOT NULL DEFAULT '', bench TEXT NOT NULL DEFAULT '',
  started INTEGER NOT NULL, heartbeat INTEGER NOT NULL, ended INTEGER, outcome TEXT);
`;

const POSTGRES = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stages (idx BIGINT PRIMARY KEY, name TEXT NOT NULL, state TEXT NOT NULL, gate TEXT, gate_by TEXT, started BIGINT,
  finished BIGINT);
CREATE TABLE IF NOT EXISTS benches (name TEXT PRIMARY KEY, timeout BIGINT);
CREATE TABLE IF NOT EXISTS hubs (rowid BIGINT GENERATED ALWAYS AS IDENTITY, id TEXT PRIMARY KEY, bench TEXT NOT NULL DEFAULT '',
  stage_idx BIGINT NOT NULL, variant TEXT NOT NULL, region TEXT NOT NULL, state TEXT NOT NULL, fw TEXT, error TEXT, job_watermark BIGINT,
  started BIGINT, finished BIGINT);
CREATE TABLE IF NOT EXISTS units (rowid BIGINT GENERATED ALWAYS AS IDENTITY, hub_id TEXT NOT NULL, eui TEXT NOT NULL, type TEXT NOT NULL,
  goal TEXT NOT NULL, stage TEXT NOT NULL, percent BIGINT NOT NULL DEFAULT 0, code BIGINT, reason TEXT, job_id BIGINT, version BIGINT,
  reads BIGINT NOT NULL DEFAULT 0, updated BIGINT NOT NULL, PRIMARY KEY (hub_id, eui));
CREATE TABLE IF NOT EXISTS transitions (seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, hub_id TEXT NOT NULL, eui TEXT NOT NULL,
  stage TEXT NOT NULL, t BIGINT NOT NULL, UNIQUE (hub_id, eui, stage));
CREATE TABLE IF NOT EXISTS alerts (rowid BIGINT GENERATED ALWAYS AS IDENTITY, hub_id TEXT NOT NULL, alert_id BIGINT NOT NULL, time BIGINT NOT NULL,
  code BIGINT NOT NULL, eui TEXT NOT NULL, file_version BIGINT, response_code BIGINT, activation_status BIGINT, recorded BIGINT NOT NULL,
  acked BIGINT, PRIMARY KEY (hub_id, alert_id, time));
CREATE TABLE IF NOT EXISTS runs (seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, pid BIGINT NOT NULL, host TEXT NOT NULL DEFAULT '',
  bench TEXT NOT NULL DEFAULT '', started BIGINT NOT NULL, heartbeat BIGINT NOT NULL, ended BIGINT, outcome TEXT);
`;

export const CAMPAIGN_SCHEMA: Record<SqlDialect, string> = { sqlite: SQLITE, postgres: POSTGRES };

/** Columns added since campaign files were first written (SQLite, before benches): [table, column, its
 *  definition]. A campaign file from before gets them when it is opened (ALTER TABLE ... ADD COLUMN), so a
 *  campaign under way when chub was updated goes on. The same words in both databases. */
export const ADDED_COLUMNS: [string, string, string][] = [
  ['stages', 'gate_by', 'TEXT'],
  ['hubs', 'bench', "TEXT NOT NULL DEFAULT ''"],
  ['runs', 'host', "TEXT NOT NULL DEFAULT ''"],
  ['runs', 'bench', "TEXT NOT NULL DEFAULT ''"],
  ['runs', 'heartbeat', 'BIGINT NOT NULL DEFAULT 0'],
];
