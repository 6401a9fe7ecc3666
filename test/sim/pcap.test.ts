// A capture of a real run, decoded by tshark (Debian package) down to the ZCL OTA fields (FACTS §7).
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseZclFrame } from '../../firmware/core/zcl-frame';
import { decodeOta } from '../../firmware/core/zcl-ota';
import { AirFrame } from '../../host-tools/sim/radio-model';
import { HanCapture, LINKTYPE_IEEE802_15_4_WITHFCS } from '../../host-tools/sim/pcap-writer';
import { parseScenario } from '../../host-tools/sim/scenario';
import { runScenario } from '../../host-tools/sim/scenario-run';

function haveTshark(): boolean {
  try {
    execFileSync('tshark', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const TSHARK = haveTshark();
if (!TSHARK) {
  if (process.env.CI) throw new Error('tshark is missing: CI must install it (.ci/run does: apt-get install tshark)');
  console.warn('SKIPPED: tshark is not installed (apt-get install tshark); the capture is not checked against Wireshark');
}
const withTshark = TSHARK ? test : test.skip;

/** tshark's fields, one row per frame with an OTA server command, as strings. */
function tsharkRows(file: string): string[][] {
  const fields = ['wpan.dst16', 'zbee_nwk.src', 'zbee_aps.profile', 'zbee_aps.cluster', 'zbee_zcl_general.ota.cmd.srv_tx.id', 'zbee_zcl_general.ota.file.offset', 'zbee_zcl_general.ota.data_size'];
  const out = execFileSync('tshark', ['-r', file, '-Y', 'zbee_zcl_general.ota.cmd.srv_tx.id', '-T', 'fields', ...fields.flatMap((f) => ['-e', f])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  // Not trim(): the last row's empty trailing fields are tabs too.
  return out.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
}

describe('pcap capture of a HAN run', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-pcap-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const s = parseScenario(
    `
image: { size: 1000 }
link: { loss: 0.1 }
devices:
  - { type: PPMID, eui: 000D6F0000000001 }
  - { type: HCALCS, eui: 000D6F0000000002 }
expect: { allSucceed: true }
`,
    'pcap.yaml',
  );

  test('a pcap file of LINKTYPE 195 in time order: every attempt of every frame, and the ACKs', () => {
    const out = runScenario(s, { capture: true });
    const pcap = out.pcap as Buffer;
    expect(pcap.readUInt32LE(0)).toBe(0xa1b2c3d4);
    expect(pcap.readUInt32LE(20)).toBe(LINKTYPE_IEEE802_15_4_WITHFCS);
    const records: { us: number; len: number; fc: number }[] = [];
    for (let off = 24; off < pcap.length; off += 16 + pcap.readUInt32LE(off + 8))
      records.push({ us: pcap.readUInt32LE(off) * 1e6 + pcap.readUInt32LE(off + 4), len: pcap.readUInt32LE(off + 8), fc: pcap.readUInt16LE(off + 16) });
    const acks = records.filter((r) => r.fc === 0x0002);
    expect(records.length - acks.length).toBe(out.report.radio.attempts);
    expect(acks.every((r) => r.len === 5)).toBe(true);
    expect(acks.length).toBeGreaterThan(0);
    expect(acks.length).toBeLessThanOrEqual(out.report.radio.frames);
    for (let i = 1; i < records.length; i++) expect(records[i].us).toBeGreaterThanOrEqual(records[i - 1].us);
  });

  withTshark('tshark decodes the frames down to the ZCL OTA fields the hub sent', () => {
    // What the hub put on the air, from the radio model's own view of the same run.
    const capture = new HanCapture(0);
    const sent: string[][] = [];
    const observe = (a: AirFrame) => {
      capture.add(a);
      if (a.frame.src !== 0 || a.frame.clusterId !== 0x0019) return;
      const f = parseZclFrame(a.frame.payload);
      if (f.header.frameType !== 1) return;
      const c = decodeOta(f.header.commandId, f.payload);
      const block = c.cmd === 0x05 && c.block ? [String(c.block.fileOffset), String(c.block.data.length)] : ['', ''];
      const dst = '0x' + a.frame.dst.toString(16).padStart(4, '0');
      for (const _ of a.attempts) sent.push([dst, '0x0000', '0x0109', '0x0019', '0x' + c.cmd.toString(16).padStart(2, '0'), ...block]);
    };
    const out = runScenario(s, { capture: true, observe });
    const file = path.join(dir, 'run.pcap');
    fs.writeFileSync(file, out.pcap as Buffer);
    const rows = tsharkRows(file);
    expect(rows).toEqual(sent);
    expect(rows.filter((r) => r[4] === '0x05').length).toBeGreaterThanOrEqual(2 * Math.ceil(1000 / 64));
    expect(capture.count()).toBeGreaterThan(rows.length);
  });
});
