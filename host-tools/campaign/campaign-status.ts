// What `chub campaign status` and the HTML report show: counts of targets per tracking stage, per campaign
// stage, hub variant and region, and every failure with its reason. Pure over what the store holds.
import { benchPresence } from './bench-presence';
import { BenchRow, CampaignState, CampaignStore, HubRow, HubState, RunRow, StageRow, UnitRow } from './campaign-store';
import { DEVICE_STAGES, DeviceStage, succeeded } from './device-stage';
import { GateResult, successRate } from './stage-gate';

export type StageCounts = Record<DeviceStage, number>;

export interface Counted {
  targets: number;
  succeeded: number;
  /** Percent of targets that reached their goal. */
  successRate: number;
  counts: StageCounts;
}

export interface StageStatus extends Counted {
  name: string;
  state: StageRow['state'];
  hubs: Record<HubState, number>;
  gate: GateResult | null;
}

export interface GroupStatus extends Counted {
  stage: string;
  variant: string;
  region: string;
}

export interface FailureRow {
  hub: string;
  stage: string;
  variant: string;
  region: string;
  /** '' for a hub-firmware target (the hub itself). */
  eui: string;
  type: string;
  code: number | null;
  reason: string;
  at: number;
}

export interface BenchStatus {
  name: string;
  /** running: a runner of it is at work; missing: none is, while it has hubs left in a running campaign; idle: neither. */
  state: 'running' | 'missing' | 'idle';
  /** Its hubs not finished, in every stage. */
  hubsLeft: number;
  /** Its runners' last heartbeat; null if none ever ran. */
  lastSeen: number | null;
  /** How long it has been missing: since its last heartbeat, or since the campaign was created if it never came. */
  missingForMs: number | null;
  timeoutS: number | null;
}

export interface CampaignStatus {
  name: string;
  state: CampaignState;
  reason: string;
  runs: number;
  totals: Counted;
  stages: StageStatus[];
  groups: GroupStatus[];
  failures: FailureRow[];
  /** The benches sharing the campaign; none when one runner runs it. */
  benches: BenchStatus[];
}

export interface StatusInput {
  name: string;
  state: CampaignState;
  reason: string;
  stages: StageRow[];
  hubs: HubRow[];
  units: UnitRow[];
  runs: RunRow[];
  /** The plan's benches, with when the campaign was created and the time now, to tell which are missing. */
  benches?: BenchRow[];
  created?: number;
  now?: number;
}

function benchStatus(i: StatusInput): BenchStatus[] {
  const now = i.now ?? Date.now();
  return benchPresence(i.benches ?? [], i.runs, i.created ?? 0, now).map((p) => {
    const hubsLeft = i.hubs.filter((h) => h.bench === p.name && (h.state === 'pending' || h.state === 'running')).length;
    const state = p.present ? 'running' : hubsLeft > 0 && i.state === 'running' ? 'missing' : 'idle';
    return { name: p.name, state, hubsLeft, lastSeen: p.lastSeen, missingForMs: state === 'missing' ? now - p.since : null, timeoutS: p.timeoutS };
  });
}

function counted(units: UnitRow[]): Counted {
  const counts = Object.fromEntries(DEVICE_STAGES.map((s) => [s, 0])) as StageCounts;
  let ok = 0;
  for (const u of units) {
    counts[u.stage]++;
    if (succeeded(u.stage, u.goal)) ok++;
  }
  const o = { targets: units.length, succeeded: ok };
  return { ...o, successRate: successRate(o), counts };
}

export function campaignStatus(i: StatusInput): CampaignStatus {
  const hubOf = new Map(i.hubs.map((h) => [h.id, h]));
  const stageName = (h: HubRow) => i.stages[h.stageIdx]?.name ?? '?';
  // Targets by hub, in the store's order, read once: filtering all targets for each hub made a status read
  // of 3,000 hubs take half a second.
  const unitsOf = new Map<string, UnitRow[]>();
  for (const u of i.units) {
    const list = unitsOf.get(u.hubId);
    if (list) list.push(u);
    else unitsOf.set(u.hubId, [u]);
  }
  const stages = i.stages.map((s) => {
    const hubs = i.hubs.filter((h) => h.stageIdx === s.idx);
    const ids = new Set(hubs.map((h) => h.id));
    const byState = { pending: 0, running: 0, done: 0, failed: 0 } as Record<HubState, number>;
    for (const h of hubs) byState[h.state]++;
    return { name: s.name, state: s.state, hubs: byState, gate: s.gate, ...counted(i.units.filter((u) => ids.has(u.hubId))) };
  });
  // Groups in stage order, then variant and region in the order the fleet lists them.
  const keys: string[] = [];
  const groupUnits = new Map<string, UnitRow[]>();
  for (const h of [...i.hubs].sort((a, b) => a.stageIdx - b.stageIdx)) {
    const key = JSON.stringify([stageName(h), h.variant, h.region]);
    if (!groupUnits.has(key)) {
      keys.push(key);
      groupUnits.set(key, []);
    }
    groupUnits.get(key)!.push(...(unitsOf.get(h.id) ?? []));
  }
  const groups = keys.map((k) => {
    const [stage, variant, region] = JSON.parse(k) as string[];
    return { stage, variant, region, ...counted(groupUnits.get(k)!) };
  });
  const failures = i.units
    .filter((u) => u.stage === 'failed')
    .map((u) => {
      const h = hubOf.get(u.hubId)!;
      return { hub: u.hubId, stage: stageName(h), variant: h.variant, region: h.region, eui: u.eui, type: u.type, code: u.code, reason: u.reason ?? '', at: u.updated };
    })
    .sort((a, b) => a.at - b.at);
  return { name: i.name, state: i.state, reason: i.reason, runs: i.runs.length, totals: counted(i.units), stages, groups, failures, benches: benchStatus(i) };
}

export async function readStatus(store: CampaignStore, now = Date.now()): Promise<CampaignStatus> {
  const { state, reason } = await store.state();
  const [name, created, stages, hubs, units, runs, benches] = [
    await store.meta('name'),
    await store.meta('created'),
    await store.stages(),
    await store.hubs(),
    await store.units(),
    await store.runs(),
    await store.benches(),
  ];
  return campaignStatus({ name: name ?? '?', state, reason, stages, hubs, units, runs, benches, created: Number(created ?? 0), now });
}
