// `chub monitor`: live transfer progress, one bar per job, with alerts printed above the bars as they
// are raised. `chub distribute --wait` shows its jobs the same way (watchJobs).
import { Command } from 'commander';
import { MultiBar, SingleBar } from 'cli-progress';
import { Alert, Device, isFinal, Job } from '../link/hub-protocol';
import { alertLine, bytes, percent, printJson, rate, responseCodeName, version } from '../format';
import { interrupted } from '../interrupted';
import { HubClient } from '../link/hub-client';
import { withHub, withPort } from '../link/port-option';

/** Job events can be lost like any frame: the job list is re-read this often as well. */
const POLL_MS = 2000;

/** A job that is still moving bytes; the others are final or wait for the host (activation). */
export function transferring(j: Job): boolean {
  return j.state === 'queued' || j.state === 'transferring';
}

interface Row {
  bar?: SingleBar;
  state: string;
  /** First observation while transferring, for the rate. */
  t0?: number;
  off0?: number;
}

/** Bars on a terminal; one line per state change otherwise (logs, CI); NDJSON events with json. */
class JobView {
  private multi?: MultiBar;
  private rows = new Map<number, Row>();
  constructor(private types: Map<string, string>, private mode: 'tty' | 'lines' | 'json' | 'quiet') {
    if (mode === 'tty')
      this.multi = new MultiBar({
        format: '{eui} {type} {state} [{bar}] {pct} {bytes} {rate}',
        stream: process.stdout,
        barsize: 16, // the line stays within 80 columns
        hideCursor: true,
        autopadding: true,
      });
  }

  job(j: Job): void {
    let row = this.rows.get(j.id);
    if (!row) this.rows.set(j.id, (row = { state: '' }));
    const now = Date.now();
    if (j.state === 'transferring' && row.t0 === undefined) {
      row.t0 = now;
      row.off0 = j.off;
    }
    const bps = row.t0 !== undefined && now > row.t0 ? ((j.off - (row.off0 ?? 0)) * 1000) / (now - row.t0) : 0;
    const stateChanged = row.state !== j.state;
    row.state = j.state;
    const state = j.state === 'failed' ? `failed: ${responseCodeName(j.code ?? 3)}` : j.state;
    const type = this.types.get(j.eui) ?? '?';
    if (this.mode === 'json') printJson({ ev: 'job', job: j });
    else if (this.mode === 'lines' && stateChanged) console.log(`job ${j.id} ${j.eui} ${type} ${version(j.fileVersion)}: ${state} ${percent(j.off, j.size)} ${j.off}/${j.size}`);
    else if (this.multi) {
      const payload = {
        eui: j.eui,
        type: type.padEnd(6),
        state: state.padEnd(12),
        pct: percent(j.off, j.size).padStart(4),
        bytes: bytes(j.off).padStart(9),
        rate: transferring(j) && bps > 0 ? rate(bps) : '',
      };
      if (!row.bar) row.bar = this.multi.create(j.size, j.off, payload);
      else row.bar.update(j.off, payload);
    }
  }

  alert(a: Alert): void {
    if (this.mode === 'json') printJson({ ev: 'alert', alert: a });
    else if (this.multi) this.multi.log(alertLine(a) + '\n');
    else if (this.mode === 'lines') console.log(alertLine(a));
  }

  log(msg: string): void {
    if (this.multi) this.multi.log(msg + '\n');
    else if (this.mode === 'lines') console.log(msg);
  }

  stop(): void {
    // A final render: stop() alone would drop lines logged since the last frame (the last alerts).
    this.multi?.update();
    this.multi?.stop();
  }
}

export interface WatchOptions {
  /** Only these jobs (distribute); default every job that is transferring when watching starts, and new ones. */
  ids?: number[];
  /** Resolve once no watched job is transferring. */
  untilDone: boolean;
  /** How to show progress; 'quiet' shows nothing (distribute --json). */
  mode?: 'tty' | 'lines' | 'json' | 'quiet';
  /** Resolves the watch early (Ctrl-C). */
  stop?: Promise<unknown>;
}

/** Shows jobs and alerts until they are done (or `stop`); resolves with the last state of each watched job. */
export async function watchJobs(hub: HubClient, opts: WatchOptions): Promise<Job[]> {
  const types = new Map<string, string>();
  const loadTypes = async () => {
    for (const d of (await hub.request('dev.list')).devices as unknown as Device[]) types.set(d.eui, d.type);
  };
  await loadTypes();
  const view = new JobView(types, opts.mode ?? (process.stdout.isTTY ? 'tty' : 'lines'));
  const watched = new Map<number, Job>();
  const wanted = opts.ids ? new Set(opts.ids) : undefined;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const allDone = () => [...watched.values()].every((j) => !transferring(j));

  const onJob = (j: Job) => {
    // Without ids, a job is watched if it is moving when first seen: old finished ones are history.
    if (wanted ? !wanted.has(j.id) : !watched.has(j.id) && !transferring(j)) return;
    // A job.list reply built before a change can be read after the change's event (a reply resumes its
    // awaiting poll a microtask later): what is older than the report held, or follows a final one, is stale.
    const held = watched.get(j.id);
    if (held && (isFinal(held) || j.updated < held.updated)) return;
    if (!types.has(j.eui)) loadTypes().catch(() => undefined);
    watched.set(j.id, j);
    view.job(j);
    if (opts.untilDone && allDone()) finish();
  };
  const onAlert = (a: Alert) => {
    const euis = new Set([...watched.values()].map((j) => j.eui));
    if (!wanted || euis.has(a.eui)) view.alert(a);
  };
  const onLog = (l: { msg: string }) => view.log(`hub: ${l.msg}`);
  const poll = async () => {
    for (const j of (await hub.request('job.list')).jobs as unknown as Job[]) onJob(j);
  };
  hub.on('job', onJob);
  hub.on('alert', onAlert);
  if (!wanted) hub.on('log', onLog);
  const timer = setInterval(() => poll().catch((e) => view.log(`cannot read jobs: ${(e as Error).message}`)), POLL_MS);
  try {
    await poll();
    if (opts.untilDone && allDone()) finish();
    await Promise.race([finished, opts.stop ?? new Promise(() => undefined)]);
    return [...watched.values()];
  } finally {
    clearInterval(timer);
    hub.off('job', onJob);
    hub.off('alert', onAlert);
    hub.off('log', onLog);
    view.stop();
  }
}

export function register(program: Command): void {
  withPort(program.command('monitor'))
    .description('show live progress of every transfer job, and alerts as they are raised')
    .option('--until-done', 'exit when no job is transferring any more')
    .option('--json', 'print job and alert events as JSON lines')
    .addHelpText('after', '\nExample:\n  $ chub monitor --until-done')
    .action(async (opts) => {
      await withHub(opts, async (hub) => {
        await watchJobs(hub, { untilDone: !!opts.untilDone, mode: opts.json ? 'json' : undefined, stop: interrupted() });
      });
    });
}
