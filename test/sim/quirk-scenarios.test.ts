// One scenario per client quirk (host-tools/sim/scenarios/quirks/, profiles in host-tools/sim/profiles.ts), on the
// virtual bench: the real hub core and ZNP driver against simulated clients. Each test checks the alerts the hub
// raised for the device, the response code, the device's final state, and the frames that show the quirk was met.
import * as fs from 'fs';
import * as path from 'path';
import { CMD_DEFAULT_RESPONSE, decodeDefaultResponse, DefaultResponse, FRAME_TYPE_CLUSTER, parseZclFrame } from '../../firmware/core/zcl-frame';
import { decodeOta, ImageBlockRequest, ImageBlockResponse, OtaCommand, OTA_CLUSTER, QueryNextImageResponse, STATUS, UpgradeEndRequest } from '../../firmware/core/zcl-ota';
import { COORDINATOR } from '../../host-tools/sim/han-frame';
import { loadScenario, Scenario } from '../../host-tools/sim/scenario';
import { DeviceResult, RunReport, runScenario } from '../../host-tools/sim/scenario-run';

const DIR = path.join(__dirname, '../../host-tools/sim/scenarios/quirks');
const SUCCEEDED = 0x8f8a;
const FAILED = 0x8f89;

/** A frame as it went on the air; on the OTA cluster, decoded: a cluster command or a Default Response. */
interface Heard {
  at: number;
  src: number;
  dst: number;
  clusterId: number;
  ota?: OtaCommand;
  defaultResponse?: DefaultResponse;
}

interface Run {
  scenario: Scenario;
  report: RunReport;
  frames: Heard[];
}

function run(name: string): Run {
  const scenario = loadScenario(path.join(DIR, name + '.yaml'));
  const frames: Heard[] = [];
  const { report } = runScenario(scenario, {
    observe: (a) => {
      const h: Heard = { at: a.attempts[0].start, src: a.frame.src, dst: a.frame.dst, clusterId: a.frame.clusterId };
      frames.push(h);
      if (a.frame.clusterId !== OTA_CLUSTER) return;
      const f = parseZclFrame(a.frame.payload);
      if (f.header.frameType === FRAME_TYPE_CLUSTER) h.ota = decodeOta(f.header.commandId, f.payload);
      else if (f.header.commandId === CMD_DEFAULT_RESPONSE) h.defaultResponse = decodeDefaultResponse(f.payload);
    },
  });
  return { scenario, report, frames };
}

function nwkOf(r: Run, eui: string): number {
  return r.scenario.devices.find((d) => d.eui === eui)!.nwk;
}

function device(r: Run, eui: string): DeviceResult {
  return r.report.devices.find((d) => d.eui === eui)!;
}

/** What the hub said about a device and how the device ended up. */
function outcome(r: Run, eui: string) {
  const d = device(r, eui);
  return { alerts: d.alerts, responseCode: d.responseCode, state: d.final.state, fileVersion: d.final.fileVersion, heldVersion: d.final.heldVersion };
}

/** OTA cluster commands the device sent. */
function fromDevice(r: Run, eui: string): OtaCommand[] {
  const nwk = nwkOf(r, eui);
  return r.frames.filter((f) => f.src === nwk && f.ota).map((f) => f.ota!);
}

/** OTA-cluster frames the hub sent the device. */
function toDevice(r: Run, eui: string): Heard[] {
  const nwk = nwkOf(r, eui);
  return r.frames.filter((f) => f.src === COORDINATOR && f.dst === nwk && f.clusterId === OTA_CLUSTER);
}

/** ZDO IEEE_addr_req to the device, IEEE_addr_rsp from it (ZigBee spec §2.4.3.1.2, §2.4.4.2.2). */
function lookups(r: Run, eui: string): { asked: number; answered: number } {
  const nwk = nwkOf(r, eui);
  return { asked: r.frames.filter((f) => f.dst === nwk && f.clusterId === 0x0001).length, answered: r.frames.filter((f) => f.src === nwk && f.clusterId === 0x8001).length };
}

const blockRequests = (r: Run, eui: string) => fromDevice(r, eui).filter((c): c is ImageBlockRequest => c.cmd === 0x03);
const blockResponses = (r: Run, eui: string) =>
  toDevice(r, eui)
    .map((h) => h.ota)
    .filter((c): c is ImageBlockResponse => c !== undefined && c.cmd === 0x05);
const served = (r: Run, eui: string) => blockResponses(r, eui).filter((c) => c.status === STATUS.SUCCESS);

const PPMID_DONE = { alerts: [SUCCEEDED], responseCode: 0, state: 'idle', fileVersion: 2, heldVersion: undefined };
const HCALCS_HOLDING = { alerts: [SUCCEEDED], responseCode: 0, state: 'holding', fileVersion: 1, heldVersion: 2 };
const DEV = '000D6F0000000001';

function expectMet(r: Run): void {
  expect(r.report.expectations.filter((e) => !e.ok)).toEqual([]);
}

test('every quirk scenario file has a test here', () => {
  const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.yaml'));
  const here = fs.readFileSync(__filename, 'utf8');
  for (const f of files) expect(here).toContain(`run('${f.replace(/\.yaml$/, '')}')`);
});

describe('requests repeated, out of order, at odd offsets, with changing sizes', () => {
  test('repeats-requests: every request asked twice and answered twice; success, code 0', () => {
    const r = run('repeats-requests');
    expectMet(r);
    expect(outcome(r, DEV)).toEqual(PPMID_DONE);
    const offsets = blockRequests(r, DEV).map((c) => c.fileOffset);
    const blocks = Math.ceil(r.report.imageSize / 64);
    expect(offsets).toHaveLength(2 * blocks);
    for (let i = 0; i < offsets.length; i += 2) expect(offsets[i + 1]).toBe(offsets[i]);
    expect(served(r, DEV)).toHaveLength(2 * blocks);
  });

  test('out-of-order: asks for blocks ahead of the one it needs; each answer has the offset asked; success, code 0 (HCALCS holds it)', () => {
    const r = run('out-of-order');
    expectMet(r);
    expect(outcome(r, DEV)).toEqual(HCALCS_HOLDING);
    const asked = blockRequests(r, DEV).map((c) => c.fileOffset);
    expect(asked.filter((o, i) => i > 0 && o < asked[i - 1]).length).toBeGreaterThan(10);
    expect(served(r, DEV).map((c) => c.block!.fileOffset)).toEqual(asked);
  });

  test('odd-offsets: 37-byte blocks at offsets that are not multiples of 64, each exactly as asked; success, code 0', () => {
    const r = run('odd-offsets');
    expectMet(r);
    expect(outcome(r, DEV)).toEqual(PPMID_DONE);
    const asked = blockRequests(r, DEV);
    expect(asked.map((c) => c.fileOffset)).toEqual(asked.map((_, i) => i * 37)); // 37, 74, 111…: off the hub's 64-byte grid
    const size = r.report.imageSize;
    expect(served(r, DEV).map((c) => c.block!.data.length)).toEqual(asked.map((c) => Math.min(37, size - c.fileOffset)));
  });

  test('changing-block-size: maxDataSize 64, 40, 17, 50 in turn, each answer that size; success, code 0 (HCALCS holds it)', () => {
    const r = run('changing-block-size');
    expectMet(r);
    expect(outcome(r, DEV)).toEqual(HCALCS_HOLDING);
    const asked = blockRequests(r, DEV);
    expect(asked.slice(0, 4).map((c) => c.maxDataSize)).toEqual([64, 40, 17, 50]);
    const size = r.report.imageSize;
    expect(served(r, DEV).map((c) => c.block!.data.length)).toEqual(asked.map((c) => Math.min(c.maxDataSize, size - c.fileOffset)));
  });
});

describe('clients that restart, hang, pause or drop requests', () => {
  test('reboot-midway: back to offset 0 after a new query; success, code 0', () => {
    const r = run('reboot-midway');
    expectMet(r);
    expect(outcome(r, DEV)).toEqual(PPMID_DONE);
    expect(device(r, DEV).reboots).toBe(1);
    expect(blockRequests(r, DEV).filter((c) => c.fileOffset === 0)).toHaveLength(2);
    expect(fromDevice(r, DEV).filter((c) => c.cmd === 0x01).length).toBeGreaterThanOrEqual(2);
    expect(device(r, DEV).bytes).toBeGreaterThan(r.report.imageSize);
  });

  test("goes-silent: 0x8F89 with code 3 the hub's silence timeout after its last frame; the device is left hung", () => {
    const r = run('goes-silent');
    expectMet(r);
    expect(outcome(r, DEV)).toEqual({ alerts: [FAILED], responseCode: 3, state: 'downloading', fileVersion: 1, heldVersion: undefined });
    const nwk = nwkOf(r, DEV);
    const last = Math.max(...r.frames.filter((f) => f.src === nwk).map((f) => f.at));
    const alertAt = r.scenario.startMs + (device(r, DEV).timeMs as number);
    const silence = r.scenario.hub.silenceTimeoutMs as number;
    expect(alertAt - last).toBeGreaterThan(silence);
    expect(alertAt - last).toBeLessThan(silence + 1000);
    expect(device(r, DEV).bytes).toBeLessThan(r.report.imageSize / 2);
  });

  test('pauses: 4 minutes without a request half way, then carries on; success, code 0 (HCALCS holds it)', () => {
    const r = run('pauses');
    expectMet(r);
    expect(outcome(r, DEV)).toEqual(HCALCS_HOLDING);
    const nwk = nwkOf(r, DEV);
    const times = r.frames.filter((f) => f.src === nwk && f.ota?.cmd === 0x03).map((f) => f.at);
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    expect(Math.max(...gaps)).toBeGreaterThanOrEqual(4 * 60 * 1000);
    expect(blockRequests(r, DEV).filter((c) => c.fileOffset === 0)).toHaveLength(1); // not restarted
  });

  test('drops-requests: requests that never left the device are asked again after its timeout; success, code 0', () => {
    const r = run('drops-requests');
    expectMet(r);
    expect(outcome(r, DEV)).toEqual(PPMID_DONE);
    expect(device(r, DEV).retries).toBeGreaterThan(10);
    expect(device(r, DEV).lostFrames).toBe(0); // nothing lost on the air: the client dropped them itself
  });
});

describe('the end of a transfer, and images the hub does not hold', () => {
  test('rejects-image: Upgrade End INVALID_IMAGE → 0x8F89 with code 1, a Default Response and no Upgrade End Response', () => {
    const r = run('rejects-image');
    expectMet(r);
    expect(outcome(r, DEV)).toEqual({ alerts: [FAILED], responseCode: 1, state: 'idle', fileVersion: 1, heldVersion: undefined });
    expect(fromDevice(r, DEV).filter((c): c is UpgradeEndRequest => c.cmd === 0x06).map((c) => c.status)).toEqual([STATUS.INVALID_IMAGE]);
    const answers = toDevice(r, DEV);
    expect(answers.filter((h) => h.ota?.cmd === 0x07)).toEqual([]);
    expect(answers.filter((h) => h.defaultResponse).map((h) => h.defaultResponse)).toEqual([{ commandId: 0x06, status: STATUS.SUCCESS }]);
    expect(device(r, DEV).final.lastError).toMatch(/invalid image/);
  });

  test('stale-download: blocks of a version the hub does not hold get NO_IMAGE_AVAILABLE; then it queries and is served', () => {
    const r = run('stale-download');
    expectMet(r);
    expect(outcome(r, DEV)).toEqual(PPMID_DONE);
    const [first] = blockRequests(r, DEV);
    expect(first).toMatchObject({ fileVersion: 0x99, fileOffset: 4096 });
    expect(toDevice(r, DEV).filter((h) => h.defaultResponse).map((h) => h.defaultResponse)).toEqual([{ commandId: 0x03, status: STATUS.NO_IMAGE_AVAILABLE }]);
    expect(served(r, DEV).every((c) => c.block!.fileVersion === 2)).toBe(true);
    expect(blockResponses(r, DEV).filter((c) => c.status === STATUS.ABORT)).toEqual([]);
  });
});

describe('pacing', () => {
  test('page-requests: only Image Page Requests, each page served as spaced blocks; success, code 0', () => {
    const r = run('page-requests');
    expectMet(r);
    expect(outcome(r, DEV)).toEqual(PPMID_DONE);
    const sent = fromDevice(r, DEV);
    const size = r.report.imageSize;
    expect(sent.filter((c) => c.cmd === 0x03)).toEqual([]);
    expect(sent.filter((c) => c.cmd === 0x04)).toHaveLength(Math.ceil(size / 512));
    expect(served(r, DEV)).toHaveLength(Math.ceil(size / 64));
    // Within a page (8 blocks of 64), blocks leave the hub at least responseSpacing (20 ms) apart.
    const times = toDevice(r, DEV).filter((h) => h.ota?.cmd === 0x05).map((h) => h.at);
    for (let i = 1; i < times.length; i++) if (i % 8 !== 0) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(20);
  });

  test('states-block-period: states 1000 ms in every request and keeps it; the hub never slows it; success, code 0 (HCALCS holds it)', () => {
    const r = run('states-block-period');
    expectMet(r);
    expect(outcome(r, DEV)).toEqual(HCALCS_HOLDING);
    const nwk = nwkOf(r, DEV);
    const reqs = r.frames.filter((f) => f.src === nwk && f.ota?.cmd === 0x03);
    expect(reqs.every((f) => (f.ota as ImageBlockRequest).minimumBlockPeriod === 1000)).toBe(true);
    for (let i = 1; i < reqs.length; i++) expect(reqs[i].at - reqs[i - 1].at).toBeGreaterThanOrEqual(1000);
    expect(blockResponses(r, DEV).filter((c) => c.status === STATUS.WAIT_FOR_DATA)).toEqual([]);
  });

  test('period-in-seconds: after one 500 "s" pause the hub restates its period in seconds; success, code 0, within 15 minutes', () => {
    const r = run('period-in-seconds');
    expectMet(r);
    expect(outcome(r, DEV)).toEqual(PPMID_DONE);
    const waits = blockResponses(r, DEV).filter((c) => c.status === STATUS.WAIT_FOR_DATA);
    expect(waits.map((c) => c.wait!.minimumBlockPeriod)).toEqual([500, 1]);
    expect(device(r, DEV).timeMs).toBeLessThan(15 * 60 * 1000);
  });

  test('busy-hub: 6 clients, 2 session slots: the rest are told WAIT_FOR_DATA (busyWaitS 10 s), and all succeed', () => {
    const r = run('busy-hub');
    expectMet(r);
    const euis = r.scenario.devices.map((d) => d.eui);
    for (const eui of euis) expect(outcome(r, eui)).toEqual(device(r, eui).type === 'PPMID' ? PPMID_DONE : HCALCS_HOLDING);
    const waits = euis.flatMap((eui) => blockResponses(r, eui).filter((c) => c.status === STATUS.WAIT_FOR_DATA));
    expect(waits.length).toBeGreaterThanOrEqual(4);
    expect(waits.every((c) => c.wait!.requestTime - c.wait!.currentTime === 10)).toBe(true);
  });
});

describe('tolerance, matching and the device log', () => {
  test('default-responses: Default Responses to every hub command are tolerated; success, code 0', () => {
    const r = run('default-responses');
    expectMet(r);
    expect(outcome(r, DEV)).toEqual(PPMID_DONE);
    const nwk = nwkOf(r, DEV);
    const answered = r.frames.filter((f) => f.src === nwk && f.defaultResponse);
    expect(answered.length).toBeGreaterThanOrEqual(served(r, DEV).length);
    expect(answered.every((f) => f.defaultResponse!.status === STATUS.SUCCESS)).toBe(true);
    expect(r.report.hubErrors).toEqual([]);
  });

  test('hardware-mismatch: hardware version 9 outside 1–3 → 0x8F89 with code 2, not one block', () => {
    const r = run('hardware-mismatch');
    expectMet(r);
    expect(outcome(r, DEV)).toEqual({ alerts: [FAILED], responseCode: 2, state: 'idle', fileVersion: 1, heldVersion: undefined });
    expect(blockResponses(r, DEV)).toEqual([]);
    expect(device(r, DEV).bytes).toBe(0);
  });

  test('already-on-version: refused with code 1 (NO_IMAGE_AVAILABLE to its query), nothing sent', () => {
    const r = run('already-on-version');
    expectMet(r);
    expect(outcome(r, DEV)).toEqual({ alerts: [FAILED], responseCode: 1, state: 'idle', fileVersion: 2, heldVersion: undefined });
    const answers = toDevice(r, DEV).map((h) => h.ota).filter((c): c is QueryNextImageResponse => c !== undefined && c.cmd === 0x02);
    expect(answers.map((c) => c.status)).toContain(STATUS.NO_IMAGE_AVAILABLE);
    expect(blockResponses(r, DEV)).toEqual([]);
  });

  test('already-on-version-forced: the same device with force is served and installs the version again; code 0', () => {
    const r = run('already-on-version-forced');
    expectMet(r);
    expect(outcome(r, DEV)).toEqual(PPMID_DONE);
    expect(served(r, DEV)).toHaveLength(Math.ceil(r.report.imageSize / 64));
  });

  test('unlisted: NOT_AUTHORIZED, no alert, not a byte; the listed device next to it is served', () => {
    const r = run('unlisted');
    expectMet(r);
    const stranger = '000D6F00000000FF';
    expect(outcome(r, DEV)).toEqual(PPMID_DONE);
    expect(outcome(r, stranger)).toEqual({ alerts: [], responseCode: undefined, state: 'idle', fileVersion: 1, heldVersion: undefined });
    expect(device(r, stranger).result).toBe('none');
    const answers = toDevice(r, stranger);
    expect(answers.length).toBeGreaterThan(0);
    expect(answers.map((h) => h.ota)).toEqual(answers.map(() => ({ cmd: 0x02, status: STATUS.NOT_AUTHORIZED })));
    expect(device(r, stranger).final.lastError).toBe('Query Next Image status 0x7e');
    expect(lookups(r, stranger)).toEqual({ asked: 0, answered: 0 }); // its announce said who it is: never looked up
  });

  test('lost-announce: a listed device the hub never heard announce is looked up on its first request, then served; code 0', () => {
    const r = run('lost-announce');
    expectMet(r);
    expect(outcome(r, DEV)).toEqual(PPMID_DONE);
    const hub = toDevice(r, DEV).filter((h) => h.ota);
    expect(hub[0].ota).toEqual({ cmd: 0x02, status: STATUS.NOT_AUTHORIZED });
    // Once known, a unicast Image Notify (payload type 0, jitter 100: FACTS §2), as its job was waiting.
    expect(hub[1].ota).toEqual({ cmd: 0x00, payloadType: 0, queryJitter: 100 });
    expect(lookups(r, DEV)).toEqual({ asked: 1, answered: 1 });
    expect(served(r, DEV)).toHaveLength(Math.ceil(r.report.imageSize / 64));
  });
});
