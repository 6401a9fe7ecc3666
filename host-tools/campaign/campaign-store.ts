// A campaign's state, in SQLite or PostgreSQL (open-campaign-store.ts picks): the plan it runs, each stage
// and its gate, each hub, each target with its tracking stage, every stage a target entered and when, and
// every alert recorded. Everything the runner does is written here before (or as) it happens, so a killed
// runner resumes where it stopped.
import { Alert } from '../link/hub-protocol';
import { DeviceType } from './fleet-inventory';
import { DeviceStage, Goal, Report } from './device-stage';
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
  /** The run that decided the gate ("bench a, run 3"). */
  gateBy: string | null;
  started: number | null;
  finished: number | null;
}

export interface HubRow {
  id: string;
  /** The bench whose runners work it; '' in a campaign without benches. */
  bench: string;
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
  host: string;
  /** '' in a campaign without benches. */
  bench: string;
  started: number;
  /** The runner's last sign of life (its end, once it ended). */
  heartbeat: number;
  ended: number | null;
  outcome: string | null;
}

export interface PlanRecord {
  name: string;
  /** The plan file's text. */
  text: string;
  /** A fingerprint of what it deploys. */
  deploy: string;
  stages: { name: string }[];
  /** The benches that share it; none (or left out): one runner runs the whole fleet. */
  benches?: BenchRow[];
}

export interface BenchRow {
  name: string;
  /** Seconds a missing bench may hold a stage open before its hubs of the stage count as not reached; null: for ever. */
  timeoutS: number | null;
}

export interface Runner {
  pid: number;
  host: string;
  bench: string;
}

/** A hub this runner works on; no other runner claims it until released (or this process dies). */
export interface HubClaim {
  /** The claim may have passed to another runner (its database connection broke): stop working the hub. */
  readonly lost: boolean;
  release(): Promise<void>;
}

/** A stage's gate cannot be decided yet: these benches still have hubs of it to finish. */
export interface BenchWait {
  bench: string;
  hubsLeft: number;
  /** Since when no runner of the bench has been at work; null: one is. */
  missingSince: number | null;
  timeoutS: number | null;
}

export type StageClose = { gate: GateResult; by: string } | { waiting: BenchWait[] };

export interface CampaignStore {
  /** Where the state is, for messages: a file, or a URL with its password masked. */
  readonly where: string;
  close(): Promise<void>;

  meta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;
  /** Whether a campaign was recorded here (initialise). */
  initialised(): Promise<boolean>;
  /**
   * Records the plan, its stages, hubs and targets, all pending: the campaign exists from here on. False if
   * another runner recorded one first (nothing is changed then).
   */
  initialise(plan: PlanRecord, hubsByStage: TargetHub[][], now: number): Promise<boolean>;
  state(): Promise<{ state: CampaignState; reason: string }>;
  setState(state: CampaignState, reason?: string, now?: number): Promise<void>;

  /** Whether runners on several machines can share the campaign (PostgreSQL), as its benches do. */
  readonly shared: boolean;
  benches(): Promise<BenchRow[]>;

  // --- runs: one row per runner process ---
  runs(): Promise<RunRow[]>;
  /**
   * Starts a run. A campaign without benches has one runner at a time: returns the pid of a live one if there
   * is one. A campaign with benches takes every runner (they claim hubs, see claimHub). Runs that never ended
   * and whose runner is gone (a dead pid on this host, or a stale heartbeat) are marked killed.
   */
  startRun(pid: number, alive: (pid: number) => boolean, now: number, runner?: Omit<Runner, 'pid'>): Promise<{ seq: number } | { heldBy: number }>;
  heartbeat(seq: number, now: number): Promise<void>;
  endRun(seq: number, outcome: string, now: number): Promise<void>;

  // --- stages ---
  stages(): Promise<StageRow[]>;
  stageStarted(idx: number, now: number): Promise<void>;
  /** Records the stage's gate unless one was already decided; returns the gate that stands. */
  stageFinished(idx: number, gate: GateResult, now: number, by?: string): Promise<GateResult>;
  /**
   * Decides the stage's gate over every bench's targets once every hub of the stage is finished, in one
   * transaction, so whichever runner gets there first decides it, once. Hubs of benches missing past their
   * timeout are failed as not reached first. Returns the gate that stands and who decided it, or the benches
   * the stage waits for.
   */
  closeStage(idx: number, evaluate: (targets: UnitRow[]) => GateResult, now: number, by: string): Promise<StageClose>;

  // --- hubs ---
  hubs(stageIdx?: number): Promise<HubRow[]>;
  hub(id: string): Promise<HubRow>;
  /** Claims an unfinished hub for this runner; null if another runner holds it or it is finished. */
  claimHub(id: string): Promise<HubClaim | null>;
  /** The hub is being worked on: its pending targets become Requested. */
  hubStarted(id: string, now: number): Promise<void>;
  hubReached(id: string, fw: string): Promise<void>;
  setJobWatermark(id: string, watermark: number): Promise<void>;
  /** The hub's work is over: every target not yet final is failed with `error` (so none is left hanging). */
  hubFinished(id: string, error: string | null, now: number): Promise<void>;

  // --- targets ---
  units(hubId?: string): Promise<UnitRow[]>;
  unit(hubId: string, eui: string): Promise<UnitRow>;
  /** Applies a report to a target; returns the stages it entered (none if the report is not news). */
  advance(hubId: string, eui: string, r: Report, now: number): Promise<DeviceStage[]>;
  setJob(hubId: string, eui: string, jobId: number): Promise<void>;
  /** Counts a version read before it is asked for, so a restarted runner does not exceed the plan's tries; returns the count. */
  countRead(hubId: string, eui: string): Promise<number>;
  transitions(): Promise<Transition[]>;
  /** Whether each target that became final since `since` succeeded, in the order they did. */
  outcomesSince(since: number): Promise<boolean[]>;

  // --- alerts ---
  /**
   * Records an alert and, only if it was not recorded before, applies to its target the report `reportFor`
   * makes of it, in the same transaction: a re-seen alert changes nothing, and an alert is never
   * acknowledged on the hub before it is stored.
   */
  recordAlert(hubId: string, a: Alert, now: number, reportFor: (target: UnitRow) => Report | null): Promise<boolean>;
  alertsAcked(hubId: string, ids: number[], now: number): Promise<void>;
  alerts(hubId?: string): Promise<(Alert & { hubId: string })[]>;
  lastAlert(hubId: string, eui: string, code: number): Promise<Alert | undefined>;
}
