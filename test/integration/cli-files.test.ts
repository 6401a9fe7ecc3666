// Files named on the command line, across commands: one that cannot be read is a usage error (exit 2,
// host-tools/cli.ts), whichever command was given it; one that is read but cannot be served is a
// failed operation (exit 1), in `upload` as in `image inspect`.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { chub } from '../helpers/chub-emulate';

const PPMID = '000D6F0000000001';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-cli-files-'));
const missing = path.join(dir, 'missing.ota');
// A port that is never opened: each command must stop at its file before it looks for a hub.
const noPort = path.join(dir, 'no-such-port');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const outDir = path.join(dir, 'nope');
// Each case is a fresh process (~0.5 s of start-up): run them side by side.
test.concurrent.each<[string, string[], string]>([
  ['upload, a missing file', ['upload', missing, '--port', noPort], missing],
  ['upload, a directory', ['upload', dir, '--name', 'x', '--port', noPort], dir],
  ['upload, no port either', ['upload', missing], missing],
  ['image inspect, a missing file', ['image', 'inspect', missing], missing],
  ['image inspect, a directory', ['image', 'inspect', dir], dir],
  ['distribute --stream, a missing file', ['distribute', '--stream', missing, '--device', PPMID, '--port', noPort], missing],
  ['image make, an output in a missing directory', ['image', 'make', '-o', path.join(outDir, 'fw.ota'), '--size', '1k'], outDir],
  ['sim run, a missing scenario', ['sim', 'run', path.join(dir, 'missing.yaml')], 'missing.yaml'],
  ['campaign run, a missing plan', ['campaign', 'run', path.join(dir, 'missing-plan.yaml')], 'missing-plan.yaml'],
  ['fleet status, a missing inventory', ['fleet', 'status', path.join(dir, 'missing-fleet.yaml')], 'missing-fleet.yaml'],
])('%s: exit 2, and the message names the file', async (_name, args, file) => {
  const r = await chub(args);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/^chub: /);
  expect(r.stderr).toContain(file);
});

test('a file that is read but holds no OTA image: exit 1 from upload and from image inspect, both saying NO_MAGIC', async () => {
  const junk = path.join(dir, 'junk.bin');
  fs.writeFileSync(junk, Buffer.alloc(100, 0x42));
  const [up, inspect] = await Promise.all([chub(['upload', junk, '--port', noPort]), chub(['image', 'inspect', junk])]);
  expect(up).toMatchObject({ code: 1, stderr: expect.stringContaining('NO_MAGIC') });
  expect(inspect.code).toBe(1);
  expect(inspect.stdout).toContain('NO_MAGIC');
});
