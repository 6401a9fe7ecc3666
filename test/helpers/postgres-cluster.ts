// A throwaway PostgreSQL cluster for tests: initdb in a temporary directory, a server on a free port of
// 127.0.0.1 (its unix socket in that directory too), stopped and removed afterwards. PostgreSQL refuses to run
// as root, so as root the cluster belongs to `nobody`. No mock: the campaign store runs on the real server.
import { execFile, execFileSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { Client } from 'pg';

const INSTALL = "PostgreSQL's initdb and pg_ctl were found neither on PATH nor in /usr/lib/postgresql/*/bin: install Debian's postgresql (apt-get install postgresql, or .ci/system-deps)";
const UNPRIVILEGED = 'nobody';

/** The directory holding initdb and pg_ctl, or null. Debian keeps them off PATH, in /usr/lib/postgresql/<version>/bin. */
export function postgresBinDir(): string | null {
  const has = (d: string) => fs.existsSync(path.join(d, 'initdb')) && fs.existsSync(path.join(d, 'pg_ctl'));
  const onPath = (process.env.PATH ?? '').split(path.delimiter).filter((d) => d && has(d));
  if (onPath.length) return onPath[0];
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  return versions.map((v) => path.join(root, v, 'bin')).find(has) ?? null;
}

/**
 * Whether to skip the tests that need PostgreSQL: only where it is missing outside CI, and then loudly. In CI
 * (and wherever it is installed) they run, and a missing PostgreSQL fails them saying how to get it.
 */
export function skipWithoutPostgres(): boolean {
  if (postgresBinDir() || process.env.CI) return false;
  console.warn(`SKIPPING the PostgreSQL tests: ${INSTALL}. CI fails them.`);
  return true;
}

export interface PostgresCluster {
  /** postgres://…/postgres: the cluster's own database, as its superuser. */
  url: string;
  /** A new, empty database; returns its URL. */
  newDatabase(): Promise<string>;
  stop(): Promise<void>;
}

function run(file: string, args: string[], asUser: string | null, cwd: string): Promise<void> {
  const [cmd, argv] = asUser ? ['runuser', ['-u', asUser, '--', file, ...args]] : [file, args];
  return new Promise((resolve, reject) => {
    execFile(cmd, argv, { cwd, timeout: 60000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(file)} ${args.join(' ')} failed: ${err.message}\n${stdout}${stderr}`));
      else resolve();
    });
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export async function startPostgresCluster(): Promise<PostgresCluster> {
  const bin = postgresBinDir();
  if (!bin) throw new Error(INSTALL);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-pg-'));
  const data = path.join(dir, 'data');
  const asUser = process.getuid?.() === 0 ? UNPRIVILEGED : null;
  if (asUser) {
    const id = (flag: string) => Number(execFileSync('id', [flag, asUser], { encoding: 'utf8' }));
    fs.chownSync(dir, id('-u'), id('-g'));
  }
  const pgCtl = path.join(bin, 'pg_ctl');
  let started = false;
  const stop = async () => {
    try {
      if (started) await run(pgCtl, ['stop', '-D', data, '-m', 'immediate', '-w'], asUser, dir);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    // Trust on 127.0.0.1 and the socket: the cluster lives as long as the test, in a directory only its owner reads.
    await run(path.join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync'], asUser, dir);
    const port = await freePort();
    // -F: no fsync, the data is thrown away.
    const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -F`;
    await run(pgCtl, ['start', '-D', data, '-w', '-l', path.join(dir, 'server.log'), '-o', options], asUser, dir);
    started = true;
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    let n = 0;
    const newDatabase = async () => {
      const name = `chub_test_${++n}`;
      const c = new Client({ connectionString: url });
      await c.connect();
      try {
        await c.query(`CREATE DATABASE ${name}`);
      } finally {
        await c.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    };
    return { url, newDatabase, stop };
  } catch (e) {
    const log = path.join(dir, 'server.log');
    const said = fs.existsSync(log) ? `\nserver log:\n${fs.readFileSync(log, 'utf8')}` : '';
    await stop();
    throw new Error(`${(e as Error).message}${said}`);
  }
}
