import { parseScenario, ScenarioError } from '../../host-tools/sim/scenario';

const FILE = 'bench/x.yaml';

function error(text: string): string {
  try {
    parseScenario(text, FILE);
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    return (e as Error).message;
  }
  throw new Error('no error for:\n' + text);
}

describe('scenario files', () => {
  test('defaults, device groups with generated EUIs, profiles under device links, fault times', () => {
    const s = parseScenario(
      `
devices:
  - type: PPMID
    count: 3
    join: 1s
    joinSpacing: 500ms
  - type: HCALCS
    eui: 00:0d:6f:00:00:00:00:a0
    count: 2
    profile: lossy-link
    link: { loss: 0.5 }
    expect: { result: failed, responseCode: 3, maxTime: 2m }
faults:
  - { at: 30s, reboot: 000D6F0000000002 }
  - { at: 1m, outage: 000D6F00000000A1, for: 20s }
  - { at: 2m, hubReset: true }
  - { at: 3m, radioReset: true }
expect: { allSucceed: true, maxTime: 1h, maxEfficiency: 4 }
`,
      FILE,
    );
    expect(s).toMatchObject({ name: 'x', seed: 1, startMs: 5000, durationMs: 7200000, image: { kind: 'built', options: { size: 40960, fileVersion: 2 } } });
    expect(s.devices.map((d) => [d.eui, d.type, d.nwk, d.joinAtMs])).toEqual([
      ['000D6F0000000001', 'PPMID', 0x1001, 1000],
      ['000D6F0000000002', 'PPMID', 0x1002, 1500],
      ['000D6F0000000003', 'PPMID', 0x1003, 2000],
      ['000D6F00000000A0', 'HCALCS', 0x1004, undefined],
      ['000D6F00000000A1', 'HCALCS', 0x1005, undefined],
    ]);
    // The profile's burst and LQI stay; the device's own loss wins.
    expect(s.devices[3].link).toMatchObject({ loss: 0.5, lqi: 90, burst: { everyMs: 20000, lengthMs: 300 } });
    expect(s.devices[4].expect).toEqual({ result: 'failed', responseCode: 3, maxTimeMs: 120000 });
    expect(s.faults).toEqual([
      { atMs: 30000, kind: 'reboot', eui: '000D6F0000000002' },
      { atMs: 60000, kind: 'outage', eui: '000D6F00000000A1', forMs: 20000 },
      { atMs: 120000, kind: 'hub-reset' },
      { atMs: 180000, kind: 'radio-reset' },
    ]);
    expect(s.expect).toEqual({ allSucceed: true, maxTimeMs: 3600000, maxEfficiency: 4 });
  });

  test('errors name the file and the key', () => {
    expect(error('devices: []')).toBe(`${FILE}: devices: want at least one device`);
    expect(error('devices:\n  - type: IHD')).toBe(`${FILE}: devices[0].type: want one of PPMID, HCALCS, got "IHD"`);
    expect(error('devices:\n  - { type: PPMID, link: { los: 0.1 } }')).toMatch(/^bench\/x\.yaml: devices\[0\]\.link\.los: unknown key \(known here: loss, burst/);
    expect(error('devices:\n  - { type: PPMID, link: { loss: 1.5 } }')).toBe(`${FILE}: devices[0].link.loss: want a number from 0 to 1, got 1.5`);
    expect(error('devices:\n  - { type: PPMID, profile: grumpy }')).toMatch(/devices\[0\]\.profile: want one of normal, slow, lossy-link, reboot-midway/);
    expect(error('devices:\n  - { type: PPMID, join: soon }')).toBe(`${FILE}: devices[0].join: want a duration such as 500ms, 30s, 5m or 1h, got "soon"`);
    expect(error('devices:\n  - { type: PPMID }\nfaults:\n  - { at: 1s, reboot: 000D6F0000000009 }')).toBe(
      `${FILE}: faults[0].reboot: no device in this scenario has that EUI, got "000D6F0000000009"`,
    );
    expect(error('devices:\n  - { type: PPMID }\nfaults:\n  - { at: 1s, outage: 000D6F0000000001 }')).toBe(`${FILE}: faults[0].for: want how long the outage lasts`);
    expect(error('devices:\n  - { type: PPMID, eui: 000D6F0000000001 }\n  - { type: PPMID, eui: 000D6F0000000001 }')).toMatch(/devices\[1\]\.eui: 000D6F0000000001 is already used by devices\[0\]/);
    expect(error('image: { file: a.ota, size: 5 }\ndevices: [{ type: PPMID }]')).toBe(`${FILE}: image.size: not with image.file: the file says it`);
    expect(error('hub: { maxBlok: 50 }\ndevices: [{ type: PPMID }]')).toMatch(/^bench\/x\.yaml: hub\.maxBlok: unknown key \(known here: .*maxBlock/);
    expect(error('devices: [{ type: PPMID }]\nexpect: { allSucceed: yes }')).toBe(`${FILE}: expect.allSucceed: want true or false, got "yes"`);
    expect(error('devices: [{ type: PPMID }]\nsurprise: 1')).toMatch(/^bench\/x\.yaml: surprise: unknown key/);
    expect(error('devices: [{ type: PPMID }')).toMatch(/^bench\/x\.yaml: not valid YAML: /);
  });
});
