// Runs a campaign: stage after stage, hubs in parallel up to the plan's limit, a gate after each stage.
// All state is in the campaign store, so a run that was killed is resumed by running again: finished hubs
// are skipped, hubs that were in progress are picked up where the hub and the store say they are.
// With benches, each bench's runner works its own hubs (claimed, so two runners never work one hub) and
// waits at the end of each stage until every bench has finished it; then one of them decides the gate.
import * as os from 'os';
import * as zlib from 'zlib';
import { UsageError } from '../link/port-option';
import { HEARTBEAT_MS } from './bench-presence';
import { BenchFleet, Plan } from './campaign-plan';
import { BenchWait, CampaignState, CampaignStore, StageClose } from './campaign-store';
import { deployDeviceImage } from './device-image-worker';
import { STAGE_LABELS } from './device-stage';
import { Fleet } from './fleet-inventory';
import { FleetLinks } from './fleet-links';
import { FleetFlasher, HubFlasher } from './hub-flasher';
import { deployHubFirmware } from './hub-firmware-worker';
import { HubWork, sleep } from './hub-work';
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
  /** This runner's fleet: its bench's, or the whole fleet. */
  fleet: Fleet;
  /** This runner's bench (default none: the plan has no benches). */
  bench?: string;
  /** Every bench's fleet, for the stage assignment (default: `fleet`, the whole fleet). */
  fleets?: BenchFleet[];
  store: CampaignStore;
  links: FleetLinks;
  flasher?: HubFlasher;
  log(msg: string): void;
  /** Resolves when the run must stop (Ctrl-C): hubs in progress are left to be resumed. */
  interrupt?: Promise<unknown>;
}

/** How often the runner looks at the store for the pause rule and for pause/abort from another process. */
const WATCH_MS = 500;
/** How often a runner waiting at the end of a stage looks whether the other benches have finished it. */
const BARRIER_MS = 1000;

/** What is deployed, so a resumed run can tell the plan's files did not change under it. */
function deployFingerprint(plan: Plan): string {
  const d = plan.deploy;
  return d.kind === 'device-image' ? `image ${d.name} crc32 ${(zlib.crc32(d.bytes) >>> 0).toString(16)}` : `hub firmware ${d.version}`;
}

/** First run: targets and stages are decided and stored. Later runs: the plan must be the one stored. */
async function prepare(o: RunnerOptions): Promise<void> {
  const { plan, store } = o;
  const benches = plan.benches.filter((b) => b.name !== '').map((b) => ({ name: b.name, timeoutS: b.timeoutS }));
  if (benches.length && !store.shared)
    throw new UsageError(`${plan.file} is shared by benches, which need a campaign database they all reach: --db postgres://… (${store.where} is a SQLite file, one machine's)`);
  const deploy = deployFingerprint(plan);
  if (!(await store.initialised())) {
    const hubs = (o.fleets ?? [{ bench: '', fleet: o.fleet }]).flatMap((f) => targetHubs(plan, f.fleet, f.bench));
    const a = assignStages(hubs, plan.stages);
    const byId = new Map(hubs.map((h) => [h.id, h]));
    if (await store.initialise({ ...plan, deploy, benches }, a.stages.map((ids) => ids.map((id) => byId.get(id)!)), Date.now())) {
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

/** "bench b (missing for 40 s, timeout 60 s; 3 hub(s) left)" for each bench a stage waits for. */
function waitingText(waits: BenchWait[], now: number): string {
  return waits
    .map((w) => {
      if (w.bench === '') return `${w.hubsLeft} hub(s) still running`;
      const timeout = w.timeoutS === null ? '' : `, timeout ${w.timeoutS} s`;
      const missing = w.missingSince === null ? '' : `missing for ${Math.round((now - w.missingSince) / 1000)} s${timeout}; `;
      return `bench ${w.bench} (${missing}${w.hubsLeft} hub(s) left)`;
    })
    .join(', ');
}

export async function runCampaign(o: RunnerOptions): Promise<RunOutcome> {
  const { plan, store, log } = o;
  const bench = o.bench ?? '';
  await prepare(o);
  const initial = await store.state();
  if (initial.state !== 'running') return settled(initial.state, initial.reason, plan.name);
  const run = await store.startRun(process.pid, alive, Date.now(), { host: os.hostname(), bench });
  if ('heldBy' in run) throw new Error(`campaign ${plan.name} is being run by process ${run.heldBy}; wait for it, or stop it first`);
  const me = bench ? `bench ${bench}, run ${run.seq}` : `run ${run.seq}`;
  const runs = (await store.runs()).filter((r) => r.bench === bench).length;
  if (runs > 1) log(`resuming campaign ${plan.name} (${bench ? `bench ${bench}, ` : ''}run ${runs})`);

  let interrupted = false;
  void o.interrupt?.then(() => (interrupted = true));
  let state: CampaignState = initial.state;
  // Looked at on a timer and before each hub starts, so a pause takes effect before the next hub. Looks run
  // one after another (a pause is decided once), each after what the caller has written.
  let looks: Promise<void> = Promise.resolve();
  let beaten = Date.now();
  const look = async () => {
    if (Date.now() - beaten >= HEARTBEAT_MS) {
      beaten = Date.now();
      await store.heartbeat(run.seq, beaten);
    }
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

  // A hub another runner holds (a second runner on this bench, by mistake) is left to it.
  const workHub = async (hubId: string) => {
    const claim = await store.claimHub(hubId);
    if (!claim) return;
    const stop = () => stopping() || claim.lost;
    const w: HubWork = { hubId, plan, store, links: o.links, flasher, log, stopping: stop };
    try {
      await store.hubStarted(hubId, Date.now());
      try {
        const d = plan.deploy;
        const end = d.kind === 'device-image' ? await deployDeviceImage(w, d) : await deployHubFirmware(w, d);
        if (end === 'stopped') return;
        await store.hubFinished(hubId, null, Date.now());
      } catch (e) {
        if (stop()) return;
        await store.hubFinished(hubId, (e as Error).message, Date.now());
      }
      log(await hubSummary(store, hubId));
    } finally {
      await claim.release();
    }
  };
  const mayStart = async () => {
    await refresh();
    return !stopping() && state === 'running';
  };

  let outcome: RunOutcome = { result: 'interrupted', message: `interrupted; chub campaign run ${plan.file} resumes` };
  try {
    for (const s of await store.stages()) {
      if (s.state === 'passed') continue;
      const sp = plan.stages[s.idx];
      await store.stageStarted(s.idx, Date.now());
      // This bench's hubs of the stage, until none is left; then the gate, once every bench has finished the
      // stage. Hubs a runner gone meanwhile left unfinished are taken up on the next round.
      let waited = '';
      let closed: StageClose;
      for (let round = 0; ; round++) {
        const todo = (await store.hubs(s.idx)).filter((h) => h.bench === bench && (h.state === 'pending' || h.state === 'running'));
        if (round === 0) log(`stage ${sp.name}: ${todo.length} hub(s) to do${bench ? ` on bench ${bench}` : ''}, ${plan.concurrency} at a time`);
        await runPool(todo, plan.concurrency, (h) => workHub(h.id), mayStart);
        await refresh();
        if (stopping() || state !== 'running') {
          if (!interrupted) outcome = settled(state, (await store.state()).reason, plan.name);
          return outcome;
        }
        const now = Date.now();
        closed = await store.closeStage(s.idx, (targets) => evaluateGate(sp.gate, stageOutcome(targets)), now, me);
        if ('gate' in closed) break;
        // Said again only when what it waits for changes, not as the minutes go by.
        const key = JSON.stringify(closed.waiting.map((w) => [w.bench, w.hubsLeft, w.missingSince === null]));
        if (key !== waited) log(`stage ${sp.name}: waiting for ${waitingText(closed.waiting, now)}`);
        waited = key;
        await sleep(BARRIER_MS);
      }
      const { gate, by } = closed;
      log(`gate after ${sp.name}: ${gate.passed ? 'passed' : 'FAILED'}: ${gateSummary(gate)}${by === me ? '' : ` (decided by ${by})`}`);
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
