// Which hubs and devices a campaign targets, and which stage each hub belongs to. Pure and deterministic:
// the runner computes it once, at the start of a campaign, and keeps it in the campaign database.
import { Plan, PilotSize, StagePlan } from './campaign-plan';
import { DeviceType, Fleet, FleetHub } from './fleet-inventory';
import { Goal } from './device-stage';

/** What gets updated: a HAN device, or (hub firmware) the hub itself, whose eui is ''. */
export interface TargetUnit {
  eui: string;
  type: DeviceType | 'HUB';
  goal: Goal;
}

export interface TargetHub {
  id: string;
  /** The bench whose runners work it, in a campaign shared by benches. */
  bench?: string;
  variant: string;
  region: string;
  units: TargetUnit[];
}

function units(plan: Plan, hub: FleetHub): TargetUnit[] {
  const d = plan.deploy;
  if (d.kind === 'hub-firmware') return [{ eui: '', type: 'HUB', goal: 'confirmed' }];
  const only = plan.target.devices;
  return hub.devices
    .filter((dev) => d.deviceTypes.includes(dev.type) && (!only || only.includes(dev.eui)))
    .map((dev) => ({ eui: dev.eui, type: dev.type, goal: dev.type === 'HCALCS' && !d.activate ? 'transferred' : 'confirmed' }));
}

/**
 * The hubs with something to update, in inventory order. The target's variant and region filters do not
 * apply to hubs a validate stage names: test hubs often sit outside the regions being rolled out to.
 * `bench`: the bench whose fleet this is.
 */
export function targetHubs(plan: Plan, fleet: Fleet, bench = ''): TargetHub[] {
  const named = new Set(plan.stages.flatMap((s) => s.hubs ?? []));
  const t = plan.target;
  return fleet.hubs
    .filter((h) => named.has(h.id) || ((!t.variants || t.variants.includes(h.variant)) && (!t.regions || t.regions.includes(h.region))))
    .map((h) => ({ id: h.id, bench, variant: h.variant, region: h.region, units: units(plan, h) }))
    .filter((h) => h.units.length > 0);
}

function pilotCount(size: PilotSize, available: number): number {
  if ('count' in size) return Math.min(size.count, available);
  return Math.min(available, Math.max(1, Math.ceil((size.percent * available) / 100)));
}

/**
 * Takes n hubs, each time from the region the pilot has fewest hubs in so far (ties: the region listed
 * first), so a pilot covers as many regions as it can across all variants; within a region, inventory order.
 */
function spreadOverRegions(hubs: TargetHub[], n: number, perRegion: Map<string, number>): TargetHub[] {
  const left = [...hubs];
  const out: TargetHub[] = [];
  while (out.length < n && left.length) {
    const regions = [...new Set(left.map((h) => h.region))];
    const region = regions.reduce((best, r) => ((perRegion.get(r) ?? 0) < (perRegion.get(best) ?? 0) ? r : best));
    const h = left.splice(left.findIndex((x) => x.region === region), 1)[0];
    perRegion.set(region, (perRegion.get(region) ?? 0) + 1);
    out.push(h);
  }
  return out;
}

function pick(stage: StagePlan, remaining: TargetHub[]): TargetHub[] {
  if (stage.kind === 'validate') return remaining.filter((h) => stage.hubs!.includes(h.id));
  const inRegions = remaining.filter((h) => !stage.regions || stage.regions.includes(h.region));
  if (stage.kind === 'mass') return inRegions;
  const variants = [...new Set(inRegions.map((h) => h.variant))];
  const perRegion = new Map<string, number>();
  return variants.flatMap((v) => {
    const ofVariant = inRegions.filter((h) => h.variant === v);
    return spreadOverRegions(ofVariant, pilotCount(stage.perVariant!, ofVariant.length), perRegion);
  });
}

export interface Assignment {
  /** Hub ids of each stage, in plan order. */
  stages: string[][];
  /** Targeted hubs no stage took (e.g. in a region no mass stage covers). */
  unassigned: string[];
}

/** Each hub goes to the first stage that takes it; a hub is in at most one stage. */
export function assignStages(hubs: TargetHub[], stages: StagePlan[]): Assignment {
  let remaining = hubs;
  const out: string[][] = [];
  for (const s of stages) {
    const taken = pick(s, remaining);
    out.push(taken.map((h) => h.id));
    remaining = remaining.filter((h) => !taken.includes(h));
  }
  return { stages: out, unassigned: remaining.map((h) => h.id) };
}
