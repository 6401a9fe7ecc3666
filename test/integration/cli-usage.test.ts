// Usage errors of the real `chub` binary (exit 2, host-tools/cli.ts): the message says what to give, and
// nothing reaches the hub.
import { chub, Emulation, startEmulate } from '../helpers/chub-emulate';

describe('distribute without --device', () => {
  let emu: Emulation;
  beforeAll(async () => {
    emu = await startEmulate(['--time-scale', '0.05']);
  });
  afterAll(async () => {
    await emu?.stop();
  });

  test('exits 2, says to name the devices with --device, and starts no job', async () => {
    const r = await chub(['distribute', '--image', 'fw-v2'], emu.port);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^chub: .*--device <eui>/m);
    const jobs = await chub(['jobs', '--json'], emu.port);
    expect(jobs.code).toBe(0);
    expect(JSON.parse(jobs.stdout)).toEqual([]);
  });
});

test('emulate --help explains the silence timeout: the option, its default and where a board sets it', async () => {
  const r = await chub(['emulate', '--help']);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/--silence-timeout <seconds>/);
  expect(r.stdout).toMatch(/0x8F89, response code 3/);
  expect(r.stdout).toMatch(/600 s unless a board file/);
  expect(r.stdout).toContain('hub.silenceTimeoutMs');
  expect(r.stdout).toContain('hubConfig.silenceTimeoutMs');
});

test.concurrent.each(['0', '-5', 'ten', '100000'])('emulate --silence-timeout %s exits 2 and gives the range', async (v) => {
  const r = await chub(['emulate', '--silence-timeout', v]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain(`--silence-timeout: want seconds from 1 to 86400, not "${v}"`);
});
