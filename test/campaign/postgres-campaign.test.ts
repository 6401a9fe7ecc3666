// `chub campaign` with its state on a PostgreSQL server (--db postgres://… or $CHUB_DB), as a user runs it:
// a campaign over emulated hubs, its status, and what a wrong or unreachable URL says.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { stringify } from 'yaml';
import { makeImage } from '../helpers/images';
import { PostgresCluster, skipWithoutPostgres, startPostgresCluster } from '../helpers/postgres-cluster';
import { chub } from './fleet-bench';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-pg-campaign-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

test('a URL that is not one, or a server that does not answer, is named with its password masked', async () => {
  const bad = await chub(['campaign', 'status', '--db', 'postgres://chub:s3cret@db.lab:99999/ppmid']);
  expect(bad).toMatchObject({ code: 2, stderr: 'chub: postgres://chub:***@db.lab:99999/ppmid is not a PostgreSQL URL: want postgres://user:password@host:port/database\n' });
  // Port 1 on this machine: nothing listens there.
  const down = await chub(['campaign', 'status'], 30000, { CHUB_DB: 'postgresql://chub:s3cret@127.0.0.1:1/ppmid' });
  expect(down.code).toBe(1);
  expect(down.stderr).toMatch(/^chub: cannot reach the campaign database postgresql:\/\/chub:\*\*\*@127\.0\.0\.1:1\/ppmid: .*ECONNREFUSED/);
  expect(down.stderr).not.toContain('s3cret');
});

(skipWithoutPostgres() ? describe.skip : describe)('on a PostgreSQL server', () => {
  let cluster: PostgresCluster;
  beforeAll(async () => {
    cluster = await startPostgresCluster();
  });
  afterAll(() => cluster?.stop());

  test('campaign run and status keep the campaign in the database the URL names', async () => {
    const url = await cluster.newDatabase();
    const before = await chub(['campaign', 'status', '--db', url]);
    expect(before).toMatchObject({ code: 2, stderr: `chub: no campaign state at ${url}: start the campaign with chub campaign run <plan.yaml>\n` });

    fs.writeFileSync(path.join(dir, 'fw-v2.ota'), makeImage({ fileVersion: 2, size: 8 * 1024 }));
    const devices = [
      { eui: '000D6F0000020001', type: 'PPMID' },
      { eui: '000D6F0000020002', type: 'HCALCS' },
    ];
    fs.writeFileSync(path.join(dir, 'fleet.yaml'), stringify({ emulation: { timeScale: 0.05 }, hubs: [{ id: 'h1', port: 'emulated', variant: 'A', region: 'North', devices }] }));
    const plan = path.join(dir, 'plan.yaml');
    fs.writeFileSync(plan, stringify({ name: 'on-postgres', fleet: 'fleet.yaml', confirm: { interval: 1, tries: 5 }, deploy: { image: 'fw-v2.ota', name: 'fw-v2' }, stages: [{ name: 'mass' }] }));

    const run = await chub(['campaign', 'run', plan, '--db', url]);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toContain('campaign on-postgres is complete');
    // Nothing was written beside the plan: the state is on the server.
    expect(fs.existsSync(path.join(dir, 'plan.campaign.db'))).toBe(false);

    const status = await chub(['campaign', 'status', '--json'], 30000, { CHUB_DB: url });
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ name: 'on-postgres', state: 'done', runs: 1, totals: { targets: 2, counts: { confirmed: 1, transferred: 1 } } });
  }, 60000);
});
