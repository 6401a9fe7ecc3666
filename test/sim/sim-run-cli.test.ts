// `chub sim run` as CI uses it: the exit code says whether every expectation held.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { run } from '../../host-tools/cli';
import { captureConsole } from '../helpers/console-capture';

describe('chub sim run', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-sim-run-'));
  const file = (name: string, text: string) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text);
    return f;
  };
  const { out, err } = captureConsole();
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const good = file('good.yaml', 'image: { size: 2048 }\ndevices:\n  - { type: PPMID, expect: { result: success, maxTime: 1m } }\n  - { type: HCALCS }\nexpect: { allSucceed: true }\n');

  test('every expectation holds: exit 0 and a per-device table', async () => {
    expect(await run(['sim', 'run', good])).toBe(0);
    const text = out.join('\n');
    expect(text).toMatch(/device\s+type\s+profile\s+result\s+code\s+time\s+retries\s+waits\s+reboots\s+bytes\s+B\/s/);
    expect(text).toMatch(/000D6F0000000001\s+PPMID\s+normal\s+success\s+0\s/);
    expect(text).toMatch(/airtime floor .*efficiency \(measured ÷ floor\) \d+\.\d\d×/);
    expect(text).toContain('all expectations hold');
  });

  test('an expectation fails: exit 1, and the table says which', async () => {
    const f = file('late.yaml', 'image: { size: 2048 }\ndevices:\n  - { type: PPMID, expect: { maxTime: 100ms } }\n');
    expect(await run(['sim', 'run', f])).toBe(1);
    expect(out.join('\n')).toMatch(/FAIL\s+000D6F0000000001 done within 100ms — success after/);
    expect(err.join('\n')).toContain('1 expectation(s) failed');
  });

  test('a bad scenario file: exit 2 with the file and the key', async () => {
    const f = file('bad.yaml', 'devices:\n  - { type: PPMID, link: { loss: 2 } }\n');
    expect(await run(['sim', 'run', f])).toBe(2);
    expect(err.join('\n')).toContain(`${f}: devices[0].link.loss: want a number from 0 to 1, got 2`);
    expect(await run(['sim', 'run', path.join(dir, 'missing.yaml')])).toBe(2);
  });

  test('--json, --seed, --pcap and --timeline', async () => {
    const pcap = path.join(dir, 'han.pcap');
    const svg = path.join(dir, 'han.svg');
    expect(await run(['sim', 'run', good, '--json', '--seed', '7', '--pcap', pcap, '--timeline', svg])).toBe(0);
    const j = JSON.parse(out.join(''));
    expect(j.report).toMatchObject({ seed: 7, succeeded: 2, ok: true });
    expect(j.report.devices.map((d: { result: string }) => d.result)).toEqual(['success', 'success']);
    expect(j.speed.framesPerSecond).toBeGreaterThan(0);
    expect(fs.readFileSync(pcap).readUInt32LE(20)).toBe(195);
    expect(fs.readFileSync(svg, 'utf8')).toMatch(/^<svg [^>]*>/);
  });
});
