// A campaign's state in one SQLite file: the plan it runs, each stage and its gate, each hub, each target
// with its tracking stage, every stage a target entered and when, and every alert recorded. Everything the
// runner does is written here before (or as) it happens, so a killed runner resumes where it stopped.
import Database from 'better-sqlite3';
import { Alert } from '../link/hub-protocol';
import { DeviceType } from './fleet-inventory';
import { DeviceStage, Goal, isFinal, Report, stagesEntered } from './device-stage';
import { GateResult } from './stage-gate';
import { TargetHub } from './stage-assignment';

export type CampaignState = 'running' | 'paused' | 'aborted' | 'gate-failed' | 'done';
export type StageState = 'pending' | 'running' | 'passed' | 'gate-failed';
export type HubState = 'pending' | 'running' | 'done' | 'failed';

export interface StageRow {
  idx: number;
  name: string;
  state: StageState;
  gate: GateResult | null;
  started: number | null;
  finished: number | null;
}

export interface HubRow {
  id: string;
  stageIdx: number;
  variant: string;
  region: string;
  state: HubState;
  /** Firmware version the hub reported when last reached. */
  fw: string | null;
  error: string | null;
  /** Highest job id on the hub before the runner started jobs there: later jobs for our image are ours. */
  jobWatermark: number | null;
  started: number | null;
  finished: number | null;
}

export interface UnitRow {
  hubId: string;
  eui: string;
  type: DeviceType | 'HUB';
  goal: Goal;
  stage: DeviceStage;
  percent: number;
  code: number | null;
  reason: string | null;
  jobId: number | null;
  version: number | null;
  /** Version reads the runner has asked for. */
  reads: number;
  updated: number;
}

export interface Transition {
  seq: number;
  hubId: string;
  eui: string;
  stage: DeviceStage;
  t: number;
}

export interface RunRow {
  seq: number;
  pid: number;
  started: number;
  ended: number | null;
  outcome: string | null;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stages (idx INTEGER PRIMARY KEY, name TEXT NOT NULL, state TEXT NOT NULL, gate TEXT, started INTEGER, finished INTEGER);
CREATE TABLE IF NOT EXISTS hubs (id TEXT PRIMARY KEY, stage_idx INTEGER NOT NULL, variant TEXT NOT NULL, region TEXT NOT NULL,
  state TEXT NOT NULL, fw TEXT, error TEXT, job_watermark INTEGER, started INTEGER, finished INTEGER);
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
CREATE TABLE IF NOT EXISTS runs (seq INTEGER PRIMARY KEY AUTOINCREMENT, pid INTEGER NOT NULL, started INTEGER NOT NULL, ended INTEGER, outcome TEXT);
`;

type Row = Record<string, unknown>;

function hubRow(r: Row): HubRow {
  return {
    id: r.id as string,
    stageIdx: r.stage_idx as number,
    variant: r.variant as string,
    region: r.region as string,
    state: r.state as HubState,
    fw: r.fw as string | null,
    error: r.error as string | null,
    jobWatermark: r.job_watermark as number | null,
    started: r.started as number | null,
    finished: r.finished as number | null,
  };
}

function unitRow(r: Row): UnitRow {
  return {
    hubId: r.hub_id as string,
    eui: r.eui as string,
    type: r.type as UnitRow['type'],
    goal: r.goal as Goal,
    stage: r.stage as DeviceStage,
    percent: r.percent as number,
    code: r.code as number | null,
    reason: r.reason as string | null,
    jobId: r.job_id as number | null,
    version: r.version as number | null,
    reads: r.reads as number,
    updated: r.updated as number,
  };
}

function alertRow(r: Row): Alert {
  const a: Alert = { id: r.alert_id as number, code: r.code as number, eui: r.eui as string, time: r.time as number };
  if (r.file_version !== null) a.fileVersion = r.file_version as number;
  if (r.response_code !== null) a.responseCode = r.response_code as number;
  if (r.activation_status !== null) a.activationStatus = r.activation_status as number;
  return a;
}

export class CampaignStore {
  private constructor(private db: Database.Database, readonly file: string) {}

  /** Opens (creating if need be) the campaign database; `readonly` for status and reports. */
  static open(file: string, opts: { readonly?: boolean } = {}): CampaignStore {
    const db = new Database(file, { readonly: !!opts.readonly, fileMustExist: !!opts.readonly });
    if (!opts.readonly) {
      // WAL lets status and reports read while a runner writes; FULL makes each commit survive a power cut,
      // which "record the alert, then acknowledge it on the hub" relies on.
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.exec(SCHEMA);
    }
    db.pragma('busy_timeout = 5000');
    return new CampaignStore(db, file);
  }

  close(): void {
    this.db.close();
  }

  meta(key: string): string | undefined {
    const r = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as Row | undefined;
    return r?.value as string | undefined;
  }

  setMeta(key: string, value: string): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  get initialised(): boolean {
    return this.meta('plan') !== undefined;
  }

  /**
   * Records the plan (its text and a fingerprint of what it deploys), its stages, hubs and targets, all
   * pending: the campaign exists from here on.
   */
  initialise(plan: { name: string; text: string; deploy: string; stages: { name: string }[] }, hubsByStage: TargetHub[][], now: number): void {
    this.db.transaction(() => {
      this.setMeta('plan', plan.text);
      this.setMeta('deploy', plan.deploy);
      this.setMeta('name', plan.name);
      this.setMeta('created', String(now));
      this.setMeta('state', 'running');
      const stage = this.db.prepare("INSERT INTO stages (idx, name, state) VALUES (?, ?, 'pending')");
      const hub = this.db.prepare("INSERT INTO hubs (id, stage_idx, variant, region, state) VALUES (?, ?, ?, ?, 'pending')");
      const unit = this.db.prepare("INSERT INTO units (hub_id, eui, type, goal, stage, updated) VALUES (?, ?, ?, ?, 'pending', ?)");
      plan.stages.forEach((s, i) => {
        stage.run(i, s.name);
        for (const h of hubsByStage[i]) {
          hub.run(h.id, i, h.variant, h.region);
          for (const u of h.units) unit.run(h.id, u.eui, u.type, u.goal, now);
        }
      });
    })();
  }

  state(): { state: CampaignState; reason: string } {
    return { state: (this.meta('state') ?? 'running') as CampaignState, reason: this.meta('reason') ?? '' };
  }

  setState(state: CampaignState, reason = '', now = Date.now()): void {
    this.db.transaction(() => {
      this.setMeta('state', state);
      this.setMeta('reason', reason);
      // The pause rule counts failures since the campaign last went (back) to running.
      if (state === 'running') this.setMeta('resumed', String(now));
    })();
  }

  // --- runs: one row per runner process, which also keeps two runners off one campaign ---

  runs(): RunRow[] {
    return this.db.prepare('SELECT * FROM runs ORDER BY seq').all() as RunRow[];
  }

  /** Starts a run unless another live process is running this campaign; returns that process's pid if so. */
  startRun(pid: number, alive: (pid: number) => boolean, now: number): { seq: number } | { heldBy: number } {
    return this.db.transaction(() => {
      const open = this.db.prepare('SELECT * FROM runs WHERE ended IS NULL').all() as RunRow[];
      const live = open.find((r) => r.pid !== pid && alive(r.pid));
      if (live) return { heldBy: live.pid };
      // A run that never ended was killed.
      this.db.prepare("UPDATE runs SET ended = ?, outcome = 'killed' WHERE ended IS NULL").run(now);
      const r = this.db.prepare('INSERT INTO runs (pid, started) VALUES (?, ?)').run(pid, now);
      return { seq: Number(r.lastInsertRowid) };
    })();
  }

  endRun(seq: number, outcome: string, now: number): void {
    this.db.prepare('UPDATE runs SET ended = ?, outcome = ? WHERE seq = ?').run(now, outcome, seq);
  }

  // --- stages ---

  stages(): StageRow[] {
    return (this.db.prepare('SELECT * FROM stages ORDER BY idx').all() as Row[]).map((r) => ({
      idx: r.idx as number,
      name: r.name as string,
      state: r.state as StageState,
      gate: r.gate ? (JSON.parse(r.gate as string) as GateResult) : null,
      started: r.started as number | null,
      finished: r.finished as number | null,
    }));
  }

  stageStarted(idx: number, now: number): void {
    this.db.prepare("UPDATE stages SET state = 'running', started = COALESCE(started, ?) WHERE idx = ?").run(now, idx);
  }

  stageFinished(idx: number, gate: GateResult, now: number): void {
    this.db.prepare('UPDATE stages SET state = ?, gate = ?, finished = ? WHERE idx = ?').run(gate.passed ? 'passed' : 'gate-failed', JSON.stringify(gate), now, idx);
  }

  // --- hubs ---

  hubs(stageIdx?: number): HubRow[] {
    const rows = stageIdx === undefined ? this.db.prepare('SELECT * FROM hubs ORDER BY stage_idx, rowid').all() : this.db.prepare('SELECT * FROM hubs WHERE stage_idx = ? ORDER BY rowid').all(stageIdx);
    return (rows as Row[]).map(hubRow);
  }

  hub(id: string): HubRow {
    return hubRow(this.db.prepare('SELECT * FROM hubs WHERE id = ?').get(id) as Row);
  }

  /** The hub is being worked on: its pending targets become Requested. */
  hubStarted(id: string, now: number): void {
    this.db.transaction(() => {
      this.db.prepare("UPDATE hubs SET state = 'running', started = COALESCE(started, ?), error = NULL WHERE id = ?").run(now, id);
      for (const u of this.units(id)) if (u.stage === 'pending') this.advance(id, u.eui, { stage: 'requested' }, now);
    })();
  }

  hubReached(id: string, fw: string): void {
    this.db.prepare('UPDATE hubs SET fw = ? WHERE id = ?').run(fw, id);
  }

  setJobWatermark(id: string, watermark: number): void {
    this.db.prepare('UPDATE hubs SET job_watermark = ? WHERE id = ?').run(watermark, id);
  }

  /** The hub's work is over: every target not yet final is failed with `error` (so none is left hanging). */
  hubFinished(id: string, error: string | null, now: number): void {
    this.db.transaction(() => {
      if (error !== null) {
        for (const u of this.units(id)) if (!isFinal(u.stage, u.goal)) this.advance(id, u.eui, { stage: 'failed', reason: error }, now);
      }
      this.db.prepare('UPDATE hubs SET state = ?, error = ?, finished = ? WHERE id = ?').run(error === null ? 'done' : 'failed', error, now, id);
    })();
  }

  // --- targets ---

  units(hubId?: string): UnitRow[] {
    const rows = hubId === undefined ? this.db.prepare('SELECT * FROM units ORDER BY rowid').all() : this.db.prepare('SELECT * FROM units WHERE hub_id = ? ORDER BY rowid').all(hubId);
    return (rows as Row[]).map(unitRow);
  }

  unit(hubId: string, eui: string): UnitRow {
    return unitRow(this.db.prepare('SELECT * FROM units WHERE hub_id = ? AND eui = ?').get(hubId, eui) as Row);
  }

  /** Applies a report to a target; returns the stages it entered (none if the report is not news). */
  advance(hubId: string, eui: string, r: Report, now: number): DeviceStage[] {
    return this.db.transaction(() => {
      const u = this.unit(hubId, eui);
      const entered = stagesEntered(u.stage, r.stage);
      if (entered.length === 0) {
        // Progress within the transfer is news too, but only forwards.
        if (u.stage === r.stage && r.percent !== undefined && r.percent > u.percent)
          this.db.prepare('UPDATE units SET percent = ?, updated = ? WHERE hub_id = ? AND eui = ?').run(r.percent, now, hubId, eui);
        return [];
      }
      this.db
        .prepare('UPDATE units SET stage = ?, percent = MAX(percent, ?), code = COALESCE(?, code), reason = COALESCE(?, reason), version = COALESCE(?, version), updated = ? WHERE hub_id = ? AND eui = ?')
        .run(r.stage, r.percent ?? 0, r.code ?? null, r.reason ?? null, r.version ?? null, now, hubId, eui);
      const t = this.db.prepare('INSERT OR IGNORE INTO transitions (hub_id, eui, stage, t) VALUES (?, ?, ?, ?)');
      for (const s of entered) t.run(hubId, eui, s, now);
      return entered;
    })();
  }

  setJob(hubId: string, eui: string, jobId: number): void {
    this.db.prepare('UPDATE units SET job_id = ? WHERE hub_id = ? AND eui = ?').run(jobId, hubId, eui);
  }

  /** Counts a version read before it is asked for, so a restarted runner does not exceed the plan's tries. */
  countRead(hubId: string, eui: string): number {
    this.db.prepare('UPDATE units SET reads = reads + 1 WHERE hub_id = ? AND eui = ?').run(hubId, eui);
    return this.unit(hubId, eui).reads;
  }

  transitions(): Transition[] {
    return (this.db.prepare('SELECT seq, hub_id, eui, stage, t FROM transitions ORDER BY seq').all() as Row[]).map((r) => ({
      seq: r.seq as number,
      hubId: r.hub_id as string,
      eui: r.eui as string,
      stage: r.stage as DeviceStage,
      t: r.t as number,
    }));
  }

  /** Whether each target that became final since `since` succeeded, in the order they did. */
  outcomesSince(since: number): boolean[] {
    const rows = this.db
      .prepare('SELECT tr.stage AS stage FROM transitions tr JOIN units u ON u.hub_id = tr.hub_id AND u.eui = tr.eui WHERE tr.t >= ? AND (tr.stage = u.goal OR tr.stage = ?) ORDER BY tr.seq')
      .all(since, 'failed') as Row[];
    return rows.map((r) => r.stage !== 'failed');
  }

  // --- alerts ---

  /**
   * Records an alert and, only if it was not recorded before, applies `effect` in the same transaction:
   * a re-seen alert changes nothing, and an alert is never acknowledged on the hub before it is stored.
   */
  recordAlert(hubId: string, a: Alert, now: number, effect: () => void): boolean {
    return this.db.transaction(() => {
      const r = this.db
        .prepare('INSERT OR IGNORE INTO alerts (hub_id, alert_id, time, code, eui, file_version, response_code, activation_status, recorded) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(hubId, a.id, a.time, a.code, a.eui, a.fileVersion ?? null, a.responseCode ?? null, a.activationStatus ?? null, now);
      if (r.changes === 0) return false;
      effect();
      return true;
    })();
  }

  alertsAcked(hubId: string, ids: number[], now: number): void {
    const q = this.db.prepare('UPDATE alerts SET acked = ? WHERE hub_id = ? AND alert_id = ? AND acked IS NULL');
    this.db.transaction(() => ids.forEach((id) => q.run(now, hubId, id)))();
  }

  alerts(hubId?: string): (Alert & { hubId: string })[] {
    const rows = hubId === undefined ? this.db.prepare('SELECT * FROM alerts ORDER BY recorded, rowid').all() : this.db.prepare('SELECT * FROM alerts WHERE hub_id = ? ORDER BY recorded, rowid').all(hubId);
    return (rows as Row[]).map((r) => ({ ...alertRow(r), hubId: r.hub_id as string }));
  }

  lastAlert(hubId: string, eui: string, code: number): Alert | undefined {
    const r = this.db.prepare('SELECT * FROM alerts WHERE hub_id = ? AND eui = ? AND code = ? ORDER BY recorded DESC, rowid DESC LIMIT 1').get(hubId, eui, code) as Row | undefined;
    return r ? alertRow(r) : undefined;
  }
}
