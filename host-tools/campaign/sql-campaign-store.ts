// The campaign store over a SQL database, SQLite or PostgreSQL (see sql-database.ts): the same statements
// and transactions on both. Whatever must not be half done, or decided twice by two connections, is one
// transaction: creating the campaign, starting a run, a target's step, a hub's start and end, a stage's gate,
// an alert with its effect.
import * as os from 'os';
import { Alert } from '../link/hub-protocol';
import { benchPresence, notReachedReason, pastTimeout, STALE_MS } from './bench-presence';
import {
  BenchRow,
  BenchWait,
  CampaignState,
  CampaignStore,
  HubClaim,
  HubRow,
  HubState,
  PlanRecord,
  Runner,
  RunRow,
  StageClose,
  StageRow,
  StageState,
  Transition,
  UnitRow,
} from './campaign-store';
import { ADDED_COLUMNS, CAMPAIGN_SCHEMA } from './campaign-schema';
import { DeviceStage, Goal, isFinal, Report, stagesEntered } from './device-stage';
import { Sql, SqlDatabase, SqlRow } from './sql-database';
import { GateResult } from './stage-gate';
import { TargetHub } from './stage-assignment';

function hubRow(r: SqlRow): HubRow {
  return {
    id: r.id as string,
    bench: r.bench as string,
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

function unitRow(r: SqlRow): UnitRow {
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

function stageRow(r: SqlRow): StageRow {
  return {
    idx: r.idx as number,
    name: r.name as string,
    state: r.state as StageState,
    gate: r.gate ? (JSON.parse(r.gate as string) as GateResult) : null,
    gateBy: r.gate_by as string | null,
    started: r.started as number | null,
    finished: r.finished as number | null,
  };
}

function alertRow(r: SqlRow): Alert {
  const a: Alert = { id: r.alert_id as number, code: r.code as number, eui: r.eui as string, time: r.time as number };
  if (r.file_version !== null) a.fileVersion = r.file_version as number;
  if (r.response_code !== null) a.responseCode = r.response_code as number;
  if (r.activation_status !== null) a.activationStatus = r.activation_status as number;
  return a;
}

async function getMeta(q: Sql, key: string): Promise<string | undefined> {
  return (await q.get('SELECT value FROM meta WHERE key = ?', [key]))?.value as string | undefined;
}

async function setMeta(q: Sql, key: string, value: string): Promise<void> {
  await q.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, value]);
}

async function unitsOf(q: Sql, hubId: string): Promise<UnitRow[]> {
  return (await q.all('SELECT * FROM units WHERE hub_id = ? ORDER BY rowid', [hubId])).map(unitRow);
}

async function benchesOf(q: Sql): Promise<BenchRow[]> {
  return (await q.all('SELECT name, timeout FROM benches ORDER BY name')).map((r) => ({ name: r.name as string, timeoutS: r.timeout as number | null }));
}

async function runsOf(q: Sql): Promise<RunRow[]> {
  return (await q.all('SELECT seq, pid, host, bench, started, heartbeat, ended, outcome FROM runs ORDER BY seq')) as unknown as RunRow[];
}

const UNFINISHED: HubState[] = ['pending', 'running'];

export class SqlCampaignStore implements CampaignStore {
  /** Hubs claimed in this process: a database lock alone would let this process claim one twice. */
  private claimed = new Set<string>();

  private constructor(private db: SqlDatabase) {}

  /** The store on `db`; with `createTables`, its tables are created if they are not there. */
  static async open(db: SqlDatabase, opts: { createTables: boolean }): Promise<SqlCampaignStore> {
    if (opts.createTables) await db.script(CAMPAIGN_SCHEMA[db.dialect]);
    for (const [table, column, definition] of ADDED_COLUMNS)
      if ((await db.hasTable(table)) && !(await db.hasColumn(table, column))) await db.run(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
    return new SqlCampaignStore(db);
  }

  get where(): string {
    return this.db.where;
  }

  get shared(): boolean {
    return this.db.shared;
  }

  benches(): Promise<BenchRow[]> {
    return benchesOf(this.db);
  }

  close(): Promise<void> {
    return this.db.close();
  }

  meta(key: string): Promise<string | undefined> {
    return getMeta(this.db, key);
  }

  setMeta(key: string, value: string): Promise<void> {
    return setMeta(this.db, key, value);
  }

  async initialised(): Promise<boolean> {
    return (await this.db.hasTable('meta')) && (await this.meta('plan')) !== undefined;
  }

  initialise(plan: PlanRecord, hubsByStage: TargetHub[][], now: number): Promise<boolean> {
    return this.db.transaction(async (q) => {
      if ((await getMeta(q, 'plan')) !== undefined) return false;
      for (const [k, v] of [
        ['plan', plan.text],
        ['deploy', plan.deploy],
        ['name', plan.name],
        ['created', String(now)],
        ['state', 'running'],
      ])
        await setMeta(q, k, v);
      for (const b of plan.benches ?? []) await q.run('INSERT INTO benches (name, timeout) VALUES (?, ?)', [b.name, b.timeoutS]);
      for (const [i, s] of plan.stages.entries()) {
        await q.run("INSERT INTO stages (idx, name, state) VALUES (?, ?, 'pending')", [i, s.name]);
        for (const h of hubsByStage[i]) {
          await q.run("INSERT INTO hubs (id, bench, stage_idx, variant, region, state) VALUES (?, ?, ?, ?, ?, 'pending')", [h.id, h.bench ?? '', i, h.variant, h.region]);
          for (const u of h.units) await q.run("INSERT INTO units (hub_id, eui, type, goal, stage, updated) VALUES (?, ?, ?, ?, 'pending', ?)", [h.id, u.eui, u.type, u.goal, now]);
        }
      }
      return true;
    });
  }

  async state(): Promise<{ state: CampaignState; reason: string }> {
    return { state: ((await this.meta('state')) ?? 'running') as CampaignState, reason: (await this.meta('reason')) ?? '' };
  }

  setState(state: CampaignState, reason = '', now = Date.now()): Promise<void> {
    return this.db.transaction(async (q) => {
      await setMeta(q, 'state', state);
      await setMeta(q, 'reason', reason);
      // The pause rule counts failures since the campaign last went (back) to running.
      if (state === 'running') await setMeta(q, 'resumed', String(now));
    });
  }

  // --- runs ---

  runs(): Promise<RunRow[]> {
    return runsOf(this.db);
  }

  startRun(pid: number, alive: (pid: number) => boolean, now: number, runner: Omit<Runner, 'pid'> = { host: os.hostname(), bench: '' }): Promise<{ seq: number } | { heldBy: number }> {
    return this.db.transaction(async (q) => {
      const open = (await runsOf(q)).filter((r) => r.ended === null);
      const sharedByBenches = (await benchesOf(q)).length > 0;
      // Without benches, a pid is the runner (one machine); with them, runners elsewhere are known by their heartbeat.
      const gone = (r: RunRow) => (sharedByBenches ? (r.host === runner.host && !alive(r.pid)) || r.heartbeat < now - STALE_MS : !alive(r.pid));
      const live = open.find((r) => r.pid !== pid && !gone(r));
      if (live && !sharedByBenches) return { heldBy: live.pid };
      for (const r of open) if ((r.pid === pid && r.host === runner.host) || gone(r)) await q.run("UPDATE runs SET ended = ?, outcome = 'killed' WHERE seq = ?", [now, r.seq]);
      const r = await q.get('INSERT INTO runs (pid, host, bench, started, heartbeat) VALUES (?, ?, ?, ?, ?) RETURNING seq', [pid, runner.host, runner.bench, now, now]);
      return { seq: r!.seq as number };
    });
  }

  async heartbeat(seq: number, now: number): Promise<void> {
    await this.db.run('UPDATE runs SET heartbeat = ? WHERE seq = ? AND ended IS NULL', [now, seq]);
  }

  async endRun(seq: number, outcome: string, now: number): Promise<void> {
    await this.db.run('UPDATE runs SET ended = ?, heartbeat = ?, outcome = ? WHERE seq = ?', [now, now, outcome, seq]);
  }

  // --- stages ---

  async stages(): Promise<StageRow[]> {
    return (await this.db.all('SELECT * FROM stages ORDER BY idx')).map(stageRow);
  }

  async stageStarted(idx: number, now: number): Promise<void> {
    await this.db.run("UPDATE stages SET state = 'running', started = COALESCE(started, ?) WHERE idx = ?", [now, idx]);
  }

  stageFinished(idx: number, gate: GateResult, now: number, by = ''): Promise<GateResult> {
    return this.db.transaction(async (q) => (await this.decide(q, idx, () => gate, now, by)).gate);
  }

  /** Records the stage's gate, made by `evaluate` over its targets, unless one was decided already. */
  private async decide(q: Sql, idx: number, evaluate: (targets: UnitRow[]) => GateResult, now: number, by: string): Promise<{ gate: GateResult; by: string }> {
    const s = stageRow((await q.get('SELECT * FROM stages WHERE idx = ?', [idx]))!);
    if (s.gate) return { gate: s.gate, by: s.gateBy ?? '' };
    const gate = evaluate((await q.all('SELECT u.* FROM units u JOIN hubs h ON h.id = u.hub_id WHERE h.stage_idx = ? ORDER BY u.rowid', [idx])).map(unitRow));
    await q.run('UPDATE stages SET state = ?, gate = ?, gate_by = ?, finished = ? WHERE idx = ?', [gate.passed ? 'passed' : 'gate-failed', JSON.stringify(gate), by, now, idx]);
    return { gate, by };
  }

  closeStage(idx: number, evaluate: (targets: UnitRow[]) => GateResult, now: number, by: string): Promise<StageClose> {
    return this.db.transaction(async (q) => {
      const decided = stageRow((await q.get('SELECT * FROM stages WHERE idx = ?', [idx]))!);
      if (decided.gate) return { gate: decided.gate, by: decided.gateBy ?? '' };
      const unfinished = async () => (await q.all('SELECT * FROM hubs WHERE stage_idx = ? ORDER BY rowid', [idx])).map(hubRow).filter((h) => UNFINISHED.includes(h.state));
      let left = await unfinished();
      if (left.length) {
        const presence = benchPresence(await benchesOf(q), await runsOf(q), Number((await getMeta(q, 'created')) ?? 0), now);
        for (const p of presence.filter((b) => pastTimeout(b, now)))
          for (const h of left.filter((x) => x.bench === p.name)) await this.finishHub(q, h.id, notReachedReason(p, now), now);
        left = await unfinished();
        if (left.length) {
          const waits = [...new Set(left.map((h) => h.bench))].map((bench): BenchWait => {
            const p = presence.find((b) => b.name === bench);
            const hubsLeft = left.filter((h) => h.bench === bench).length;
            return { bench, hubsLeft, missingSince: p && !p.present ? p.since : null, timeoutS: p?.timeoutS ?? null };
          });
          return { waiting: waits };
        }
      }
      return this.decide(q, idx, evaluate, now, by);
    });
  }

  // --- hubs ---

  async hubs(stageIdx?: number): Promise<HubRow[]> {
    const rows = stageIdx === undefined ? await this.db.all('SELECT * FROM hubs ORDER BY stage_idx, rowid') : await this.db.all('SELECT * FROM hubs WHERE stage_idx = ? ORDER BY rowid', [stageIdx]);
    return rows.map(hubRow);
  }

  async hub(id: string): Promise<HubRow> {
    const r = await this.db.get('SELECT * FROM hubs WHERE id = ?', [id]);
    if (!r) throw new Error(`no hub ${id} in the campaign at ${this.where}`);
    return hubRow(r);
  }

  async claimHub(id: string): Promise<HubClaim | null> {
    if (this.claimed.has(id)) return null;
    this.claimed.add(id);
    try {
      const r = await this.db.get('SELECT rowid FROM hubs WHERE id = ?', [id]);
      if (!r) throw new Error(`no hub ${id} in the campaign at ${this.where}`);
      const lock = await this.db.tryLock(r.rowid as number);
      if (!lock) {
        this.claimed.delete(id);
        return null;
      }
      const release = async () => {
        this.claimed.delete(id);
        await lock.release();
      };
      // Another runner may have finished it between our look at the hubs and the lock.
      if (!UNFINISHED.includes((await this.hub(id)).state)) {
        await release();
        return null;
      }
      return {
        get lost() {
          return lock.lost;
        },
        release,
      };
    } catch (e) {
      this.claimed.delete(id);
      throw e;
    }
  }

  hubStarted(id: string, now: number): Promise<void> {
    return this.db.transaction(async (q) => {
      await q.run("UPDATE hubs SET state = 'running', started = COALESCE(started, ?), error = NULL WHERE id = ?", [now, id]);
      for (const u of await unitsOf(q, id)) if (u.stage === 'pending') await this.step(q, u, { stage: 'requested' }, now);
    });
  }

  async hubReached(id: string, fw: string): Promise<void> {
    await this.db.run('UPDATE hubs SET fw = ? WHERE id = ?', [fw, id]);
  }

  async setJobWatermark(id: string, watermark: number): Promise<void> {
    await this.db.run('UPDATE hubs SET job_watermark = ? WHERE id = ?', [watermark, id]);
  }

  hubFinished(id: string, error: string | null, now: number): Promise<void> {
    return this.db.transaction((q) => this.finishHub(q, id, error, now));
  }

  private async finishHub(q: Sql, id: string, error: string | null, now: number): Promise<void> {
    if (error !== null) {
      for (const u of await unitsOf(q, id)) if (!isFinal(u.stage, u.goal)) await this.step(q, u, { stage: 'failed', reason: error }, now);
    }
    await q.run('UPDATE hubs SET state = ?, error = ?, finished = ? WHERE id = ?', [error === null ? 'done' : 'failed', error, now, id]);
  }

  // --- targets ---

  async units(hubId?: string): Promise<UnitRow[]> {
    return hubId === undefined ? (await this.db.all('SELECT * FROM units ORDER BY rowid')).map(unitRow) : unitsOf(this.db, hubId);
  }

  private async unitIn(q: Sql, hubId: string, eui: string): Promise<UnitRow> {
    const r = await q.get('SELECT * FROM units WHERE hub_id = ? AND eui = ?', [hubId, eui]);
    if (!r) throw new Error(`no target ${eui || '(the hub)'} on hub ${hubId} in the campaign at ${this.where}`);
    return unitRow(r);
  }

  unit(hubId: string, eui: string): Promise<UnitRow> {
    return this.unitIn(this.db, hubId, eui);
  }

  /** Moves target `u` (as read in this transaction) by report `r`. */
  private async step(q: Sql, u: UnitRow, r: Report, now: number): Promise<DeviceStage[]> {
    const entered = stagesEntered(u.stage, r.stage);
    if (entered.length === 0) {
      // Progress within the transfer is news too, but only forwards.
      if (u.stage === r.stage && r.percent !== undefined && r.percent > u.percent)
        await q.run('UPDATE units SET percent = ?, updated = ? WHERE hub_id = ? AND eui = ?', [r.percent, now, u.hubId, u.eui]);
      return [];
    }
    await q.run('UPDATE units SET stage = ?, percent = ?, code = COALESCE(?, code), reason = COALESCE(?, reason), version = COALESCE(?, version), updated = ? WHERE hub_id = ? AND eui = ?', [
      r.stage,
      Math.max(u.percent, r.percent ?? 0),
      r.code ?? null,
      r.reason ?? null,
      r.version ?? null,
      now,
      u.hubId,
      u.eui,
    ]);
    for (const s of entered) await q.run('INSERT INTO transitions (hub_id, eui, stage, t) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING', [u.hubId, u.eui, s, now]);
    return entered;
  }

  advance(hubId: string, eui: string, r: Report, now: number): Promise<DeviceStage[]> {
    return this.db.transaction(async (q) => this.step(q, await this.unitIn(q, hubId, eui), r, now));
  }

  async setJob(hubId: string, eui: string, jobId: number): Promise<void> {
    await this.db.run('UPDATE units SET job_id = ? WHERE hub_id = ? AND eui = ?', [jobId, hubId, eui]);
  }

  async countRead(hubId: string, eui: string): Promise<number> {
    const r = await this.db.get('UPDATE units SET reads = reads + 1 WHERE hub_id = ? AND eui = ? RETURNING reads', [hubId, eui]);
    if (!r) throw new Error(`no target ${eui} on hub ${hubId} in the campaign at ${this.where}`);
    return r.reads as number;
  }

  async transitions(): Promise<Transition[]> {
    return (await this.db.all('SELECT seq, hub_id, eui, stage, t FROM transitions ORDER BY seq')).map((r) => ({
      seq: r.seq as number,
      hubId: r.hub_id as string,
      eui: r.eui as string,
      stage: r.stage as DeviceStage,
      t: r.t as number,
    }));
  }

  async outcomesSince(since: number): Promise<boolean[]> {
    const rows = await this.db.all('SELECT tr.stage AS stage FROM transitions tr JOIN units u ON u.hub_id = tr.hub_id AND u.eui = tr.eui WHERE tr.t >= ? AND (tr.stage = u.goal OR tr.stage = ?) ORDER BY tr.seq', [
      since,
      'failed',
    ]);
    return rows.map((r) => r.stage !== 'failed');
  }

  // --- alerts ---

  recordAlert(hubId: string, a: Alert, now: number, reportFor: (target: UnitRow) => Report | null): Promise<boolean> {
    return this.db.transaction(async (q) => {
      const added = await q.run(
        'INSERT INTO alerts (hub_id, alert_id, time, code, eui, file_version, response_code, activation_status, recorded) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
        [hubId, a.id, a.time, a.code, a.eui, a.fileVersion ?? null, a.responseCode ?? null, a.activationStatus ?? null, now],
      );
      if (added === 0) return false;
      const u = await this.unitIn(q, hubId, a.eui);
      const r = reportFor(u);
      if (r) await this.step(q, u, r, now);
      return true;
    });
  }

  alertsAcked(hubId: string, ids: number[], now: number): Promise<void> {
    return this.db.transaction(async (q) => {
      for (const id of ids) await q.run('UPDATE alerts SET acked = ? WHERE hub_id = ? AND alert_id = ? AND acked IS NULL', [now, hubId, id]);
    });
  }

  async alerts(hubId?: string): Promise<(Alert & { hubId: string })[]> {
    const rows = hubId === undefined ? await this.db.all('SELECT * FROM alerts ORDER BY recorded, rowid') : await this.db.all('SELECT * FROM alerts WHERE hub_id = ? ORDER BY recorded, rowid', [hubId]);
    return rows.map((r) => ({ ...alertRow(r), hubId: r.hub_id as string }));
  }

  async lastAlert(hubId: string, eui: string, code: number): Promise<Alert | undefined> {
    const r = await this.db.get('SELECT * FROM alerts WHERE hub_id = ? AND eui = ? AND code = ? ORDER BY recorded DESC, rowid DESC LIMIT 1', [hubId, eui, code]);
    return r ? alertRow(r) : undefined;
  }
}
