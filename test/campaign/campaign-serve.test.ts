// `chub campaign serve`, watched in a real headless Chromium: the page shows what the campaign database holds
// and follows it as a runner writes. The campaign is written by the store's own methods, as the runner does,
// on its own connection; the server reads through another. The command itself: its URL line, a port in
// use, Ctrl-C.
//
// The screenshot in docs/ comes from here: CHUB_SCREENSHOT=1 npx jest test/campaign/campaign-serve.test.ts
// (otherwise it goes to dist/test-results/, so every run takes one).
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { BrowserContext, chromium, Page } from 'playwright-core';
import { stringify } from 'yaml';
import { CampaignServer, serveCampaign } from '../../host-tools/campaign/campaign-serve';
import { CampaignStore, UnitRow } from '../../host-tools/campaign/campaign-store';
import { ONE_BENCH, readView } from '../../host-tools/campaign/campaign-view';
import { DEVICE_STAGES } from '../../host-tools/campaign/device-stage';
import { openCampaignStore } from '../../host-tools/campaign/open-campaign-store';
import { TargetHub } from '../../host-tools/campaign/stage-assignment';
import { evaluateGate, stageOutcome } from '../../host-tools/campaign/stage-gate';
import { makeImage } from '../helpers/images';
import { PostgresCluster, skipWithoutPostgres, startPostgresCluster } from '../helpers/postgres-cluster';
import { chub, spawnChub } from './fleet-bench';

const CHROMIUM = '/usr/bin/chromium';
const INSTALL = `Debian's chromium is needed at ${CHROMIUM} to test the live page: apt-get install chromium (or .ci/system-deps)`;
// The network here is closed: without these Chromium stalls on refused connections to its services.
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SCREENSHOT = process.env.CHUB_SCREENSHOT ? path.resolve(__dirname, '../../docs/campaign-serve.png') : path.resolve(__dirname, '../../dist/test-results/campaign-serve.png');

/** Skipped, loudly, only where Chromium is missing outside CI; in CI a missing Chromium fails the tests saying how to get it. */
function skipWithoutChromium(): boolean {
  if (fs.existsSync(CHROMIUM) || process.env.CI) return false;
  console.warn(`SKIPPING the live campaign page tests: ${INSTALL}. CI fails them.`);
  return true;
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-serve-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const eui = (n: number) => `000D6F00000${n.toString(16).padStart(5, '0').toUpperCase()}`;
let nextEui = 0x30001;
function hub(id: string, variant: string, region: string): TargetHub {
  const units = (['PPMID', 'HCALCS', 'PPMID'] as const).map((type) => ({ eui: eui(nextEui++), type, goal: type === 'PPMID' ? ('confirmed' as const) : ('transferred' as const) }));
  return { id, variant, region, units };
}

const STAGES = ['validate', 'pilot', 'mass-north', 'mass-south'];

/**
 * A campaign part way through, as a runner leaves it: validate and pilot passed (a code-2 failure in the pilot),
 * mass-north running with a code-3 failure, a hub timed out and transfers under way, mass-south pending.
 */
async function seed(store: CampaignStore, t0: number): Promise<TargetHub[][]> {
  nextEui = 0x30001;
  const byStage = [
    [hub('lab-1', 'single-band', 'Lab'), hub('lab-2', 'dual-band', 'Lab')],
    [hub('n-01', 'dual-band', 'North'), hub('c-01', 'single-band', 'Central'), hub('s-01', 'dual-band', 'South')],
    [hub('n-02', 'dual-band', 'North'), hub('n-03', 'single-band', 'North'), hub('n-04', 'dual-band', 'North'), hub('n-05', 'single-band', 'North')],
    [hub('s-02', 'dual-band', 'South'), hub('s-03', 'single-band', 'South')],
  ];
  await store.initialise({ name: 'ppmid-v2', text: 'x', deploy: 'image ppmid-v2 crc32 0', stages: STAGES.map((name) => ({ name })) }, byStage, t0);
  const s = (n: number) => t0 + n * 1000;
  const finish = async (h: TargetHub, start: number, fail: Map<string, { code: number | undefined; reason: string }> = new Map()) => {
    await store.hubStarted(h.id, s(start));
    for (const [i, u] of h.units.entries()) {
      const f = fail.get(u.eui);
      await store.advance(h.id, u.eui, { stage: 'on_hub' }, s(start + 5));
      await store.advance(h.id, u.eui, { stage: 'transferring', percent: 50 }, s(start + 20 + i * 5));
      if (f) await store.advance(h.id, u.eui, { stage: 'failed', code: f.code, reason: f.reason }, s(start + 60 + i * 5));
      else await store.advance(h.id, u.eui, { stage: u.goal }, s(start + 60 + i * 10));
    }
    await store.hubFinished(h.id, null, s(start + 100));
  };
  const gate = async (idx: number, at: number) => {
    const ids = new Set(byStage[idx].map((h) => h.id));
    const units = (await store.units()).filter((u) => ids.has(u.hubId));
    await store.stageFinished(idx, evaluateGate({ minSuccessRate: 80, maxFailures: { 2: 1, 3: 2 }, minDevices: 1 }, stageOutcome(units)), s(at));
  };
  await store.stageStarted(0, s(0));
  for (const h of byStage[0]) await finish(h, 0);
  await gate(0, 110);
  await store.stageStarted(1, s(120));
  await finish(byStage[1][0], 120);
  await finish(byStage[1][1], 130, new Map([[byStage[1][1].units[1].eui, { code: 2, reason: '0x8F89 response 2 Hardware Version Mismatch' }]]));
  await finish(byStage[1][2], 140);
  await gate(1, 250);
  await store.stageStarted(2, s(260));
  await finish(byStage[2][0], 260, new Map([[byStage[2][0].units[2].eui, { code: 3, reason: '0x8F89 response 3 File Transfer Failure' }]]));
  const [, n03, n04] = byStage[2];
  await store.hubStarted(n03.id, s(270));
  await store.hubStarted(n04.id, s(280));
  await store.advance(n03.id, n03.units[0].eui, { stage: 'failed', reason: 'timed out after 1800 s' }, s(300));
  await store.advance(n03.id, n03.units[1].eui, { stage: 'transferring', percent: 30 }, s(310));
  await store.advance(n04.id, n04.units[0].eui, { stage: 'on_hub' }, s(320));
  return byStage;
}

/** What the database holds, counted here from its rows (not through the view the page uses). */
function countsOf(units: UnitRow[]) {
  const byStage = Object.fromEntries(DEVICE_STAGES.map((st) => [st, units.filter((u) => u.stage === st).length]));
  const failed = units.filter((u) => u.stage === 'failed');
  const byCode = { '1': 0, '2': 0, '3': 0, other: 0 } as Record<string, number>;
  for (const u of failed) byCode[u.code === 1 || u.code === 2 || u.code === 3 ? String(u.code) : 'other']++;
  return { targets: units.length, byStage, byCode };
}

// The page's globals, as far as the functions run in it use them: the project compiles without the DOM's types.
interface DomCell {
  textContent: string | null;
}
declare const document: { getElementById(id: string): DomCell | null; querySelectorAll(selectors: string): Iterable<{ cells: ArrayLike<DomCell> }> };
declare const window: { views: number; MutationObserver: new (f: () => void) => { observe(e: DomCell | null, o: { childList: boolean }): void } };

const tableCells = (page: Page, id: string): Promise<string[][]> =>
  page.$$eval(`#${id} tbody tr`, (rows: { cells: ArrayLike<DomCell> }[]) => rows.map((r) => Array.from(r.cells, (c) => c.textContent ?? '')));

/** Waits, as long as the page takes, until the element `id` says `text`. */
function pageSays(page: Page, id: string, text: string): Promise<unknown> {
  return page.waitForFunction(([id, text]) => document.getElementById(id)?.textContent === text, [id, text] as const, { timeout: 15000 });
}

/** The page's figures: the 'all' row of the group table by tracking stage, and all failures by response code. */
async function pageCounts(page: Page) {
  const groups = await tableCells(page, 'groups');
  const all = groups.find((r) => r[0] === 'all')!;
  // Stage, Variant, Region, Targets, one column per tracking stage, Success.
  const byStage = Object.fromEntries(DEVICE_STAGES.map((st, i) => [st, Number(all[4 + i])]));
  const classes = await tableCells(page, 'failure-classes');
  const byCode = Object.fromEntries(classes.map((r) => [r[0].split(' ')[0], Number(r[r.length - 1])]));
  return { targets: Number(all[3]), byStage, byCode };
}

/** Waits, as long as the page takes, until its 'all' row shows `n` targets in `stage`. */
function pageShows(page: Page, stage: string, n: number): Promise<unknown> {
  const col = 4 + DEVICE_STAGES.indexOf(stage as (typeof DEVICE_STAGES)[number]);
  return page.waitForFunction(
    ([col, n]) => [...document.querySelectorAll('#groups tbody tr')].some((r) => r.cells[0].textContent === 'all' && r.cells[col].textContent === String(n)),
    [col, n] as const,
    { timeout: 15000 },
  );
}

test('progress is per bench where the campaign has benches', async () => {
  const store = await openCampaignStore(path.join(dir, 'benches.db'));
  try {
    const on = (bench: string, id: string) => ({ ...hub(id, 'A', 'North'), bench });
    const benches = [{ name: 'bench-a', timeoutS: null }, { name: 'bench-b', timeoutS: null }];
    await store.initialise({ name: 'benched', text: 'x', deploy: 'd', stages: [{ name: 'mass' }], benches }, [[on('bench-a', 'a1'), on('bench-a', 'a2'), on('bench-b', 'b1')]], 0);
    await store.hubStarted('a1', 1);
    for (const u of await store.units('a1')) await store.advance('a1', u.eui, { stage: u.goal }, 2);
    await store.hubFinished('a1', null, 3);
    expect((await readView(store)).benches.rows).toEqual([
      ['bench-a', '1/2 done', '6', '3', '3', '0', '50.0%'],
      ['bench-b', '0/1 done', '3', '0', '0', '0', '0.0%'],
    ]);
  } finally {
    await store.close();
  }
});

(skipWithoutChromium() ? describe.skip : describe)('the live page in headless Chromium', () => {
  let browser: BrowserContext;
  beforeAll(async () => {
    if (!fs.existsSync(CHROMIUM)) throw new Error(INSTALL);
    // A fresh profile each time: nothing from an earlier run (or a person's browser) is reused.
    browser = await chromium.launchPersistentContext(fs.mkdtempSync(path.join(dir, 'profile-')), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1200, height: 900 },
    });
  });
  afterAll(() => browser?.close());

  /** The page over the campaign in `where`, seeded; the writer is a connection of its own, as a runner's is. */
  async function watch(where: string, t0: number) {
    const writer = await openCampaignStore(where);
    const hubs = await seed(writer, t0);
    const reader = await openCampaignStore(where, { readonly: true, ifMissing: 'seeded above' });
    const server = await serveCampaign({ store: reader, port: 0, pollMs: 100 });
    const page = await browser.newPage();
    await page.goto(server.url);
    // Connected to the events: from here on the page changes only when the view does.
    await pageSays(page, 'live', 'live');
    const close = async () => {
      await page.close();
      await server.close();
      await reader.close();
      await writer.close();
    };
    return { writer, hubs, server, page, close };
  }

  test('on SQLite: the page shows the counts the database holds, and follows a runner writing to it', async () => {
    const w = await watch(path.join(dir, 'live.db'), Date.now() - 330 * 1000);
    try {
      const before = countsOf(await w.writer.units());
      expect(before).toMatchObject({ targets: 33, byStage: { confirmed: 11, transferred: 5, failed: 3, transferring: 1, on_hub: 1, requested: 3, pending: 9 }, byCode: { 2: 1, 3: 1, other: 1 } });
      expect(await pageCounts(w.page)).toEqual(before);
      expect(await w.page.textContent('#state')).toBe('running');
      expect(await tableCells(w.page, 'stages')).toEqual([
        ['validate', 'passed', '2/2 done', '6', '100.0%', 'passed'],
        ['pilot', 'passed', '3/3 done', '9', '88.9%', 'passed'],
        ['mass-north', 'running', '1/4 done, 2 running', '12', '16.7%', '-'],
        ['mass-south', 'pending', '0/2 done', '6', '0.0%', '-'],
      ]);
      expect(await tableCells(w.page, 'benches')).toEqual([[ONE_BENCH, '6/11 done, 2 running', '33', '19', '16', '3', '57.6%']]);

      // The runner goes on: n-04's first PPMID is confirmed, its HCALCS fails with response code 1.
      const n04 = w.hubs[2][2];
      const t = Date.now();
      await w.writer.advance(n04.id, n04.units[0].eui, { stage: 'transferring', percent: 70 }, t);
      await pageShows(w.page, 'transferring', 2);
      await w.writer.advance(n04.id, n04.units[0].eui, { stage: 'confirmed' }, t + 1);
      await pageShows(w.page, 'confirmed', 12);
      await w.writer.advance(n04.id, n04.units[1].eui, { stage: 'failed', code: 1, reason: '0x8F89 response 1 Image Discarded' }, t + 2);
      await pageShows(w.page, 'failed', 4);
      const after = countsOf(await w.writer.units());
      expect(after.byCode).toEqual({ 1: 1, 2: 1, 3: 1, other: 1 });
      expect(await pageCounts(w.page)).toEqual(after);
      expect(await w.page.textContent('#failures')).toContain('0x8F89 response 1 Image Discarded');

      fs.mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
      await w.page.screenshot({ path: SCREENSHOT, fullPage: true });

      // The campaign's state is followed too.
      await w.writer.setState('paused', 'paused by hand');
      await pageSays(w.page, 'state', 'paused: paused by hand');
    } finally {
      await w.close();
    }
  });

  test('follows a real campaign over emulated hubs while it runs', async () => {
    const d = path.join(dir, 'real');
    fs.mkdirSync(d);
    // Hardware 0x20 is outside the image's range: that PPMID fails with response code 2.
    fs.writeFileSync(path.join(d, 'fw-v2.ota'), makeImage({ fileVersion: 2, size: 8 * 1024, minHardwareVersion: 1, maxHardwareVersion: 3 }));
    const dev = (n: number, type: string, hw?: number) => ({ eui: eui(0x40000 + n), type, ...(hw ? { sim: { hw } } : {}) });
    const hubs = [
      { id: 'lab-1', port: 'emulated', variant: 'A', region: 'Lab', devices: [dev(1, 'PPMID'), dev(2, 'HCALCS')] },
      { id: 'n-1', port: 'emulated', variant: 'A', region: 'North', devices: [dev(3, 'PPMID', 0x20), dev(4, 'HCALCS')] },
      { id: 's-1', port: 'emulated', variant: 'A', region: 'South', devices: [dev(5, 'PPMID'), dev(6, 'HCALCS')] },
    ];
    fs.writeFileSync(path.join(d, 'fleet.yaml'), stringify({ emulation: { timeScale: 0.05 }, hubs }));
    const stages = [{ name: 'validate', hubs: ['lab-1'] }, { name: 'pilot', perVariant: 1 }, { name: 'mass' }];
    const plan = { name: 'real', fleet: 'fleet.yaml', concurrency: 1, confirm: { interval: 1, tries: 5 }, gate: { minSuccessRate: 50 }, deploy: { image: 'fw-v2.ota', name: 'fw-v2' }, stages };
    fs.writeFileSync(path.join(d, 'plan.yaml'), stringify(plan));
    const db = path.join(d, 'plan.campaign.db');

    const run = spawnChub(['campaign', 'run', path.join(d, 'plan.yaml')]);
    let said = '';
    run.stderr!.on('data', (x) => (said += x));
    const exited = new Promise<number | null>((resolve) => run.on('exit', resolve));
    // The runner's first line comes once the campaign is in the database.
    await new Promise<void>((resolve, reject) => {
      run.stdout!.on('data', (x) => ((said += x), / stage validate: /.test(said) && resolve()));
      exited.then((code) => reject(new Error(`chub campaign run exited (${code}) before starting: ${said}`)));
    });
    const reader = await openCampaignStore(db, { readonly: true, ifMissing: 'the runner made it' });
    const server = await serveCampaign({ store: reader, port: 0, pollMs: 100 });
    const page = await browser.newPage();
    try {
      await page.goto(server.url);
      await pageSays(page, 'live', 'live');
      await page.evaluate(() => {
        window.views = 0;
        new window.MutationObserver(() => window.views++).observe(document.getElementById('view'), { childList: true });
      });
      await pageSays(page, 'state', 'done');
      expect(await exited).toBe(0);
      // The page changed as the runner went, not only at the end.
      expect(await page.evaluate(() => window.views)).toBeGreaterThanOrEqual(3);
      const held = countsOf(await reader.units());
      expect(held).toMatchObject({ targets: 6, byStage: { confirmed: 2, transferred: 3, failed: 1 }, byCode: { 2: 1 } });
      expect(await pageCounts(page)).toEqual(held);
    } finally {
      run.kill();
      await page.close();
      await server.close();
      await reader.close();
    }
  });

  (skipWithoutPostgres() ? describe.skip : describe)('on PostgreSQL', () => {
    let cluster: PostgresCluster;
    beforeAll(async () => {
      cluster = await startPostgresCluster();
    });
    afterAll(() => cluster?.stop());

    test('the page shows what the database holds and follows it', async () => {
      const w = await watch(await cluster.newDatabase(), Date.now() - 330 * 1000);
      try {
        expect(await pageCounts(w.page)).toEqual(countsOf(await w.writer.units()));
        const s02 = w.hubs[3][0];
        await w.writer.stageStarted(3, Date.now());
        await w.writer.hubStarted(s02.id, Date.now());
        // Its three targets leave Pending for Requested.
        await pageShows(w.page, 'requested', 6);
        expect(await pageCounts(w.page)).toEqual(countsOf(await w.writer.units()));
      } finally {
        await w.close();
      }
    });
  });
});

describe('chub campaign serve', () => {
  let db: string;
  beforeAll(async () => {
    db = path.join(dir, 'cli.db');
    const store = await openCampaignStore(db);
    await seed(store, Date.now() - 60000);
    await store.close();
  });

  function get(url: string, host?: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      http
        .get(url, { headers: host ? { host } : {} }, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (d) => (body += d)).on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        })
        .on('error', reject);
    });
  }

  /** The first event of the server's /events stream, with a promise of the stream's end; the stream stays open. */
  function firstEvent(url: string): Promise<{ name: string; data: unknown; ended: Promise<void> }> {
    return new Promise((resolve, reject) => {
      http
        .get(`${url}events`, (res) => {
          const ended = new Promise<void>((done) => res.on('end', done));
          let got = '';
          res.setEncoding('utf8').on('data', (d) => {
            got += d;
            const m = /event: (\w+)\ndata: (.*)\n\n/.exec(got);
            if (m) resolve({ name: m[1], data: JSON.parse(m[2]), ended });
          });
        })
        .on('error', reject);
    });
  }

  test('prints its URL as a JSON line, serves 127.0.0.1 only, names a port in use, stops on Ctrl-C', async () => {
    const serve = spawnChub(['campaign', 'serve', '--db', db, '--port', '0', '--json']);
    let streamEnded: Promise<void> | undefined;
    let stderr = '';
    serve.stderr!.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => serve.on('exit', (code) => resolve(code)));
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      serve.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
      });
      exited.then((code) => reject(new Error(`chub campaign serve exited (${code}) before printing its URL: ${stderr}`)));
    });
    try {
      const { url } = JSON.parse(line) as { url: string };
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const page = await get(url);
      expect(page.status).toBe(200);
      expect(page.body).toContain('<h1>Campaign ppmid-v2</h1>');
      expect(page.body).toContain('<script>');
      // A page from elsewhere that reaches here through a rebound DNS name is refused.
      expect((await get(url, 'evil.example:80')).status).toBe(403);
      // Someone watching when Ctrl-C comes does not keep the server up.
      const watching = await firstEvent(url);
      expect(watching).toMatchObject({ name: 'view', data: { title: 'Campaign ppmid-v2' } });
      streamEnded = watching.ended;

      const port = new URL(url).port;
      const again = await chub(['campaign', 'serve', '--db', db, '--port', port]);
      expect(again).toMatchObject({ code: 1, stdout: '', stderr: `chub: port ${port} on 127.0.0.1 is in use: stop what holds it or choose another with --port\n` });
      expect(await chub(['campaign', 'serve', '--db', db, '--port', 'eighty'])).toMatchObject({ code: 2, stderr: 'chub: --port eighty: want a TCP port, 0-65535\n' });
    } finally {
      serve.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
    await streamEnded;
  });
});
