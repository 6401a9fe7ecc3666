// `chub campaign`: staged roll-outs over a fleet (validate → pilot → mass, gated), with their state in an
// SQLite file next to the plan (or a PostgreSQL database), so a run can be stopped and resumed.
// docs/campaigns.md has the details.
import * as fs from 'fs';
import * as path from 'path';
import { Command } from 'commander';
import { loadPlan } from '../campaign/campaign-plan';
import { reportFromStore } from '../campaign/campaign-report';
import { runCampaign, RunOutcome } from '../campaign/campaign-runner';
import { serveCampaign } from '../campaign/campaign-serve';
import { readStatus } from '../campaign/campaign-status';
import { CampaignStore } from '../campaign/campaign-store';
import { FleetLinks } from '../campaign/fleet-links';
import { openCampaignStore } from '../campaign/open-campaign-store';
import { isPostgresUrl } from '../campaign/postgres-database';
import { statusText } from '../campaign/status-text';
import { printJson } from '../format';
import { interrupted } from '../interrupted';
import { UsageError } from '../link/port-option';

interface DbOptions {
  db?: string;
}

const DB_ENV = 'CHUB_DB';

/** The plan's path with .campaign.db for its extension: where its SQLite database is by default. */
function besidePlan(plan: string): string {
  const p = path.resolve(plan);
  return path.join(path.dirname(p), `${path.basename(p, path.extname(p))}.campaign.db`);
}

/** The campaign database: --db, else $CHUB_DB, else beside the plan; a postgres:// URL or a SQLite file. */
export function campaignDb(plan: string | undefined, opts: DbOptions): string {
  const db = opts.db ?? process.env[DB_ENV];
  if (db) return isPostgresUrl(db) ? db : path.resolve(db);
  if (!plan) throw new UsageError(`name the plan file (or the campaign database with --db or $${DB_ENV})`);
  return besidePlan(plan);
}

/** Opens an existing campaign's database, or says how to start one. */
function openExisting(plan: string | undefined, opts: DbOptions, readonly: boolean): Promise<CampaignStore> {
  return openCampaignStore(campaignDb(plan, opts), { readonly, ifMissing: `start the campaign with chub campaign run ${plan ?? '<plan.yaml>'}` });
}

/** Where the report goes unless -o says: beside the SQLite database, or beside the plan. */
function reportPath(plan: string | undefined, opts: DbOptions): string {
  const db = campaignDb(plan, opts);
  if (!isPostgresUrl(db)) return db.replace(/\.db$/, '') + '.html';
  if (!plan) throw new UsageError('name the report file with -o (the campaign database is a URL, not a file to put it beside)');
  return besidePlan(plan).replace(/\.db$/, '.html');
}

function clock(): string {
  return new Date().toISOString().slice(11, 19);
}

/** Runs (or resumes) the campaign of `planFile`; sets the exit code from the outcome. */
async function runFromPlan(
  planFile: string,
  opts: DbOptions & { fleet?: string; bench?: string; json?: boolean },
  resume?: { ifMissing: string; before(store: CampaignStore): Promise<void> },
): Promise<void> {
  const loaded = loadPlan(planFile, opts.fleet, opts.bench);
  const { plan, fleet } = loaded;
  const db = campaignDb(planFile, opts);
  // A SQLite file this run creates goes again if the run is refused before the campaign is stored in it.
  const created = !isPostgresUrl(db) && !fs.existsSync(db);
  const store = await openCampaignStore(db, { ifMissing: resume?.ifMissing });
  // Progress goes to stderr under --json, so stdout holds only the JSON.
  const log = (m: string) => (opts.json ? console.error : console.log)(`${clock()} ${m}`);
  const links = new FleetLinks(fleet, log);
  let outcome: RunOutcome;
  let refused = false;
  try {
    await resume?.before(store);
    outcome = await runCampaign({ ...loaded, store, links, log, interrupt: interrupted() });
    if (opts.json) printJson({ outcome, status: await readStatus(store) });
    else console.log(`\n${statusText(await readStatus(store))}\n\n${outcome.message}`);
  } catch (e) {
    refused = e instanceof UsageError && !(await store.initialised());
    throw e;
  } finally {
    await links.closeAll();
    await store.close();
    if (created && refused) fs.rmSync(db, { force: true });
  }
  if (outcome.result !== 'done') {
    if (opts.json) console.error(`chub: ${outcome.message}`);
    process.exitCode = 1;
  }
}

export function register(program: Command): void {
  const campaign = program
    .command('campaign')
    .description('staged firmware roll-outs over a fleet: validate, pilot, mass, with gates, tracked in SQLite or PostgreSQL')
    .addHelpText(
      'after',
      '\nExamples:\n  $ chub campaign run plan.yaml          # or again, after Ctrl-C or a crash: it resumes\n  $ chub campaign status plan.yaml --json\n  $ chub campaign report plan.yaml -o report.html\n  $ chub campaign serve plan.yaml           # a live page on http://127.0.0.1:8080/',
    );

  const dbOption = ['--db <file|url>', `campaign database: a SQLite file or a postgres:// URL (default: $${DB_ENV}, else the plan path with .campaign.db)`] as const;

  campaign
    .command('run <plan.yaml>')
    .description('run the campaign, or resume it where it stopped (exit 1 if a gate fails, it pauses or is aborted)')
    .option(...dbOption)
    .option('--fleet <fleet.yaml>', "fleet inventory (default: the plan's fleet, or this bench's)")
    .option('--bench <name>', "which of the plan's benches this runner is (a plan with benches: is shared by one runner per bench)")
    .option('--json', 'print the outcome and final status as JSON (progress goes to stderr)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ chub campaign run plan.yaml\n  $ chub campaign run plan.yaml --db /var/lib/chub/ppmid-v2.db --json\n  $ chub campaign run plan.yaml --db postgres://chub@db.lab/ppmid_v2\n  $ chub campaign run plan.yaml --bench north --db postgres://chub@db.lab/ppmid_v2   # one runner per bench',
    )
    .action((planFile: string, opts) => runFromPlan(planFile, opts));

  campaign
    .command('status [plan.yaml]')
    .description('counts per tracking stage, campaign stage, variant and region, and every failure with its reason')
    .option(...dbOption)
    .option('--json', 'print the status as JSON')
    .addHelpText('after', '\nExamples:\n  $ chub campaign status plan.yaml\n  $ chub campaign status --db ppmid-v2.campaign.db --json')
    .action(async (planFile: string | undefined, opts) => {
      const store = await openExisting(planFile, opts, true);
      try {
        const st = await readStatus(store);
        if (opts.json) printJson(st);
        else console.log(statusText(st));
      } finally {
        await store.close();
      }
    });

  campaign
    .command('report [plan.yaml]')
    .description('write a self-contained HTML page with the status tables and a progress chart')
    .option(...dbOption)
    .option('-o, --output <file.html>', 'where to write it (default: the database path with .html)')
    .addHelpText('after', '\nExample:\n  $ chub campaign report plan.yaml -o ppmid-v2.html')
    .action(async (planFile: string | undefined, opts) => {
      const out = path.resolve(opts.output ?? reportPath(planFile, opts));
      const store = await openExisting(planFile, opts, true);
      try {
        fs.writeFileSync(out, await reportFromStore(store));
      } finally {
        await store.close();
      }
      console.log(`wrote ${out}`);
    });

  campaign
    .command('serve [plan.yaml]')
    .description('serve a live page of the campaign on 127.0.0.1: stages and gates, counts, failures by response code, progress per bench')
    .option(...dbOption)
    .option('--port <n>', 'TCP port on 127.0.0.1 (0: any free one)', '8080')
    .option('--json', 'print the URL as one JSON line, for scripts')
    .addHelpText('after', '\nExamples:\n  $ chub campaign serve plan.yaml            # then open http://127.0.0.1:8080/\n  $ chub campaign serve --db postgres://chub@db.lab/ppmid_v2 --port 8081')
    .action(async (planFile: string | undefined, opts) => {
      const port = Number(opts.port);
      if (!/^\d+$/.test(opts.port) || port > 65535) throw new UsageError(`--port ${opts.port}: want a TCP port, 0-65535`);
      // Listening for Ctrl-C from the start, so a signal right after the URL is printed still stops cleanly.
      const stop = interrupted();
      const store = await openExisting(planFile, opts, true);
      try {
        const server = await serveCampaign({ store, port, log: (m) => console.error(`chub: ${m}`) });
        if (opts.json) printJson({ url: server.url });
        else console.log(`serving campaign ${await store.meta('name')} at ${server.url} (Ctrl-C stops)`);
        await stop;
        await server.close();
      } finally {
        await store.close();
      }
    });

  campaign
    .command('pause [plan.yaml]')
    .description('stop starting hubs; hubs in progress finish, then the runner exits (chub campaign resume goes on)')
    .option(...dbOption)
    .addHelpText('after', '\nExample:\n  $ chub campaign pause plan.yaml')
    .action(async (planFile: string | undefined, opts) => {
      const store = await openExisting(planFile, opts, false);
      try {
        const { state } = await store.state();
        const name = await store.meta('name');
        if (state !== 'running') throw new UsageError(`campaign ${name} is ${state}, not running`);
        await store.setState('paused', 'paused by hand');
        console.log(`campaign ${name} paused`);
      } finally {
        await store.close();
      }
    });

  campaign
    .command('resume <plan.yaml>')
    .description('take a paused campaign back to running and run it')
    .option(...dbOption)
    .option('--fleet <fleet.yaml>', "fleet inventory (default: the plan's fleet, or this bench's)")
    .option('--bench <name>', "which of the plan's benches this runner is (a plan with benches: is shared by one runner per bench)")
    .option('--json', 'print the outcome and final status as JSON (progress goes to stderr)')
    .addHelpText('after', '\nExample:\n  $ chub campaign resume plan.yaml')
    .action((planFile: string, opts) =>
      runFromPlan(planFile, opts, {
        ifMissing: 'nothing to resume',
        async before(store) {
          const { state, reason } = await store.state();
          if (state === 'paused') await store.setState('running');
          else if (state !== 'running') throw new UsageError(`campaign ${await store.meta('name')} is ${state}${reason ? ` (${reason})` : ''}: only a paused campaign can be resumed`);
        },
      }),
    );

  campaign
    .command('abort [plan.yaml]')
    .description('end the campaign for good: a running runner stops at once, and it cannot be run again')
    .option(...dbOption)
    .option('--reason <text>', 'why, for the status and the report')
    .addHelpText('after', '\nExample:\n  $ chub campaign abort plan.yaml --reason "PPMID v2 bricks older displays"')
    .action(async (planFile: string | undefined, opts) => {
      const store = await openExisting(planFile, opts, false);
      try {
        const { state } = await store.state();
        const name = await store.meta('name');
        if (state === 'done' || state === 'aborted') throw new UsageError(`campaign ${name} is already ${state}`);
        await store.setState('aborted', opts.reason ?? 'aborted by hand');
        console.log(`campaign ${name} aborted`);
      } finally {
        await store.close();
      }
    });
}
