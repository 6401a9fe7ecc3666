// Runs a campaign: stage after stage, hubs in parallel up to the plan's limit, a gate after each stage.
// All state is in the campaign store, so a run that was killed is resumed by running again: finished hubs
// are skipped, hubs that were in progress are picked up where the hub and the store say they are.
import * as zlib from 'zlib';
import { UsageError } from '../link/port-option';
import { Plan } from './campaign-plan';
import { CampaignState, CampaignStore } from './campaign-store';
import { deployDeviceImage } from './device-image-worker';
import { STAGE_LABELS } from './device-stage';
import { Fleet } from './fleet-inventory';
import { FleetLinks } from './fleet-links';
import { FleetFlasher, HubFlasher } from './hub-flasher';
import { deployHubFirmware } from './hub-firmware-worker';
import { HubWork } from './hub-work';
import { pauseReason } from './pause-rule';
import { runPool } from './async-pool';
import { assignStages, targetHubs } from './stage-assignment';
import { evaluateGate, gateSummary, stageOutcome } from './stage-gate';

export type RunResult = 'done' | 'gate-failed' | 'paused' | 'aborted' | 'interrupted';

export interface RunOutcome {
  result: RunResult;
  message: string;
}

export interface RunnerOptions {
  plan: Plan;
  fleet: Fleet;
  store: CampaignStore;
  links: FleetLinks;
  flasher?: HubFlasher;
  log(msg: string): void;
  /** Resolves when the run must stop (Ctrl-C): hubs in progress are left to be resumed. */
  interrupt?: Promise<unknown>;
}

/** How often the runner looks at the store for the pause rule and for pause/abort from another process. */
const WATCH_MS = 500;

/** What is deployed, so a resumed run can tell the plan's files did not change under it. */
function deployFingerprint(plan: Plan): string {
  const d = plan.deploy;
  return d.kind === 'device-image' ? `image ${d.name} crc32 ${(zlib.crc32(d.bytes) >>> 0).toString(16)}` : `hub firmware ${d.version}`;
}

/** First run: targets and stages are decided and stored. Later runs: the plan must be the one stored. */
async function prepare(o: RunnerOptions): Promise<void> {
  const { plan, fleet, store } = o;
  const deploy = deployFingerprint(plan);
  if (!(await store.initialised())) {
    const hubs = targetHubs(plan, fleet);
    const a = assignStages(hubs, plan.stages);
    const byId = new Map(hubs.map((h) => [h.id, h]));
    if (await store.initialise({ ...plan, deploy }, a.stages.map((ids) => ids.map((id) => byId.get(id)!)), Date.now())) {
      plan.stages.forEach((s, i) => {
        const units = a.stages[i].reduce((n, id) => n + byId.get(id)!.units.length, 0);
        o.log(`stage ${s.name}: ${a.stages[i].length} hub(s), ${units} target(s)`);
      });
      if (a.unassigned.length) o.log(`note: ${a.unassigned.length} targeted hub(s) are in no stage: ${a.unassigned.join(', ')}`);
      return;
    }
    // Another runner started this campaign meanwhile: its plan is checked like a later run's.
  }
  if ((await store.meta('plan')) !== plan.text || (await store.meta('deploy')) !== deploy)
    throw new UsageError(`${plan.file} or what it deploys changed since this campaign started (its state is in ${store.where}); put it back, or start a new campaign with another --db`);
}

function settled(state: CampaignState, reason: string, name: string): RunOutcome {
  switch (state) {
    case 'done':
      return { result: 'done', message: `campaign ${name} is complete` };
    case 'paused':
      return { result: 'paused', message: `campaign ${name} is paused: ${reason}; chub campaign resume goes on, chub campaign abort ends it` };
    case 'aborted':
      return { result: 'aborted', message: `campaign ${name} was aborted${reason ? `: ${reason}` : ''}` };
    default:
      return { result: 'gate-failed', message: reason };
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function runCampaign(o: RunnerOptions): Promise<RunOutcome> {
  const { plan, store, log } = o;
  await prepare(o);
  const initial = await store.state();
  if (initial.state !== 'running') return settled(initial.state, initial.reason, plan.name);
  const run = await store.startRun(process.pid, alive, Date.now());
  if ('heldBy' in run) throw new Error(`campaign ${plan.name} is being run by process ${run.heldBy}; wait for it, or stop it first`);
  const runs = (await store.runs()).length;
  if (runs > 1) log(`resuming campaign ${plan.name} (run ${runs})`);

  let interrupted = false;
  void o.interrupt?.then(() => (interrupted = true));
  let state: CampaignState = initial.state;
  // Looked at on a timer and before each hub starts, so a pause takes effect before the next hub. Looks run
  // one after another (a pause is decided once), each after what the caller has written.
  let looks: Promise<void> = Promise.resolve();
  const look = async () => {
    state = (await store.state()).state;
    const why = state === 'running' ? pauseReason(plan.pauseAfterConsecutiveFailures, await store.outcomesSince(Number((await store.meta('resumed')) ?? 0))) : null;
    if (why) {
      await store.setState('paused', why);
      state = 'paused';
      log(`pausing: ${why}; hubs in progress are finished first`);
    }
  };
  const refresh = () => (looks = looks.catch(() => undefined).then(look)); // a failed look was reported to its caller
  const watch = setInterval(() => refresh().catch((e: Error) => log(`reading the campaign state at ${store.where}: ${e.message}`)), WATCH_MS);
  const stopping = () => interrupted || state === 'aborted';
  const flasher = o.flasher ?? new FleetFlasher(o.links);

  const workHub = async (hubId: string) => {
    const w: HubWork = { hubId, plan, store, links: o.links, flasher, log, stopping };
    await store.hubStarted(hubId, Date.now());
    try {
      const d = plan.deploy;
      const end = d.kind === 'device-image' ? await deployDeviceImage(w, d) : await deployHubFirmware(w, d);
      if (end === 'stopped') return;
      await store.hubFinished(hubId, null, Date.now());
    } catch (e) {
      if (stopping()) return;
      await store.hubFinished(hubId, (e as Error).message, Date.now());
    }
    log(await hubSummary(store, hubId));
  };

  let outcome: RunOutcome = { result: 'interrupted', message: `interrupted; chub campaign run ${plan.file} resumes` };
  try {
    for (const s of await store.stages()) {
      if (s.state === 'passed') continue;
      const sp = plan.stages[s.idx];
      await store.stageStarted(s.idx, Date.now());
      const todo = (await store.hubs(s.idx)).filter((h) => h.state === 'pending' || h.state === 'running');
      log(`stage ${sp.name}: ${todo.length} hub(s) to do, ${plan.concurrency} at a time`);
      await runPool(todo, plan.concurrency, (h) => workHub(h.id), async () => {
        await refresh();
        return !stopping() && state === 'running';
      });
      await refresh();
      if (stopping() || state !== 'running') {
        if (!interrupted) outcome = settled(state, (await store.state()).reason, plan.name);
        return outcome;
      }
      const hubIds = new Set((await store.hubs(s.idx)).map((h) => h.id));
      const gate = await store.stageFinished(s.idx, evaluateGate(sp.gate, stageOutcome((await store.units()).filter((u) => hubIds.has(u.hubId)))), Date.now());
      log(`gate after ${sp.name}: ${gate.passed ? 'passed' : 'FAILED'}: ${gateSummary(gate)}`);
      if (!gate.passed) {
        const next = plan.stages[s.idx + 1];
        const message = `gate after stage ${sp.name} failed: ${gateSummary(gate)}; ${next ? `stage ${next.name} and later were not started` : 'the campaign did not meet its gate'}`;
        await store.setState('gate-failed', message);
        outcome = { result: 'gate-failed', message };
        return outcome;
      }
    }
    await store.setState('done');
    outcome = settled('done', '', plan.name);
    return outcome;
  } finally {
    clearInterval(watch);
    await looks.catch(() => undefined); // a look under way ends before the run is marked ended
    await store.endRun(run.seq, outcome.result, Date.now());
  }
}

/** "hub-07 (CHv2, North): 4 Version confirmed, 1 Failed (0x8F89 response 2 Hardware Version Mismatch)". */
async function hubSummary(store: CampaignStore, hubId: string): Promise<string> {
  const h = await store.hub(hubId);
  const counts = new Map<string, number>();
  for (const u of await store.units(hubId)) {
    const k = u.stage === 'failed' ? `${STAGE_LABELS.failed} (${u.reason})` : STAGE_LABELS[u.stage];
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return `${hubId} (${h.variant}, ${h.region}): ${[...counts].map(([k, n]) => `${n} ${k}`).join(', ')}`;
}
