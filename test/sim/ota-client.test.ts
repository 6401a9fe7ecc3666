import { Utils as ZSpecUtils } from 'zigbee-herdsman/dist/zspec';
import {
  buildZclFrame,
  CMD_DEFAULT_RESPONSE,
  CMD_READ_ATTRIBUTES,
  decodeReadAttributesResponse,
  encodeDefaultResponse,
  encodeReadAttributes,
  parseZclFrame,
} from '../../firmware/core/zcl-frame';
import { decodeOta, encodeOta, OtaCommand, STATUS, UPGRADE_TIME_WAIT } from '../../firmware/core/zcl-ota';
import { ManualScheduler } from '../../host-tools/sim/scheduler';
import { ClientOptions, SimDeviceSpec, SimOtaClient } from '../../host-tools/sim/ota-client';

const OTA = 0x0019;
const MFR = 0x1234;
const TYPE = 0x0001;
const NEW_VERSION = 0x00000002;

interface FileOpts {
  manufacturerCode?: number;
  fileVersion?: number;
  /** Default true: end with an Image Integrity Code (tag 0x0003). */
  integrityCode?: boolean;
  bodySize?: number;
}

/** An OTA file made by hand: 56-byte header + hardware versions, an upgrade image sub-element, then an Image
 *  Integrity Code: AES-MMO by zigbee-herdsman's implementation (short messages only: the file stays under 8 KiB). */
function otaFile(o: FileOpts = {}): Uint8Array {
  const body = Buffer.alloc(o.bodySize ?? 300);
  for (let i = 0; i < body.length; i++) body[i] = (i * 7 + 3) & 0xff;
  const integrityCode = o.integrityCode ?? true;
  const headerLength = 60;
  const total = headerLength + 6 + body.length + (integrityCode ? 6 + 16 : 0);
  const h = Buffer.alloc(headerLength);
  h.writeUInt32LE(0x0beef11e, 0);
  h.writeUInt16LE(0x0100, 4);
  h.writeUInt16LE(headerLength, 6);
  h.writeUInt16LE(0x0004, 8); // hardware versions present
  h.writeUInt16LE(o.manufacturerCode ?? MFR, 10);
  h.writeUInt16LE(TYPE, 12);
  h.writeUInt32LE(o.fileVersion ?? NEW_VERSION, 14);
  h.writeUInt16LE(0x0002, 18); // ZigBee PRO
  h.write('chub test image', 20, 'latin1');
  h.writeUInt32LE(total, 52);
  h.writeUInt16LE(0x0001, 56); // min hardware
  h.writeUInt16LE(0x0005, 58); // max hardware
  const sub = (tag: number, data: Buffer) => {
    const t = Buffer.alloc(6);
    t.writeUInt16LE(tag, 0);
    t.writeUInt32LE(data.length, 2);
    return Buffer.concat([t, data]);
  };
  const covered = Buffer.concat([h, sub(0x0000, body)]);
  const file = integrityCode ? Buffer.concat([covered, sub(0x0003, ZSpecUtils.aes128MmoHash(covered))]) : covered;
  expect(file.length).toBe(total);
  return new Uint8Array(file);
}

const SPEC: SimDeviceSpec = { eui: '000D6F0000000001', nwk: 0x1001, type: 'PPMID', manufacturerCode: MFR, imageType: TYPE, fileVersion: 1, hardwareVersion: 2 };

interface ServerOpts {
  /** Answer the first Image Block Request with WAIT_FOR_DATA. */
  waitFirst?: { seconds: number; minimumBlockPeriod?: number };
  /** Upgrade End Response upgradeTime: now (PPMID) or wait (HCALCS). */
  activation?: 'now' | 'wait';
  /** Never answer Image Block Requests. */
  silent?: boolean;
}

const NOW_S = 800000000; // ZigBee UTC seconds; any fixed value will do

/** A minimal OTA server scripted in the test (not the hub's): answers what the client asks, on a fake clock. */
function harness(image: Uint8Array, spec: Partial<SimDeviceSpec> = {}, s: ServerOpts = {}, clientOpts: ClientOptions = {}) {
  const sched = new ManualScheduler();
  const seen: { at: number; c: OtaCommand }[] = [];
  const general: { commandId: number; payload: Uint8Array }[] = [];
  let announces = 0;
  let waited = false;
  const reply = (c: OtaCommand, seq: number) =>
    sched.setTimer(0, () => client.receive(OTA, buildZclFrame({ frameType: 1, direction: 1, disableDefaultResponse: true, seq, commandId: c.cmd }, encodeOta(c))));
  const id = { manufacturerCode: MFR, imageType: TYPE, fileVersion: NEW_VERSION };
  const client: SimOtaClient = new SimOtaClient(
    { ...SPEC, ...spec },
    {
      announce: () => announces++,
      send: (zcl) => {
        const f = parseZclFrame(zcl);
        if (f.header.frameType === 0) return general.push({ commandId: f.header.commandId, payload: f.payload });
        const c = decodeOta(f.header.commandId, f.payload);
        seen.push({ at: sched.now(), c });
        const seq = f.header.seq;
        if (c.cmd === 0x01) {
          if (c.fileVersion >= NEW_VERSION) reply({ cmd: 0x02, status: STATUS.NO_IMAGE_AVAILABLE }, seq);
          else reply({ cmd: 0x02, status: STATUS.SUCCESS, image: { ...id, imageSize: image.length } }, seq);
        } else if (c.cmd === 0x03) {
          if (s.silent) return;
          if (s.waitFirst && !waited) {
            waited = true;
            return reply({ cmd: 0x05, status: STATUS.WAIT_FOR_DATA, wait: { currentTime: NOW_S, requestTime: NOW_S + s.waitFirst.seconds, minimumBlockPeriod: s.waitFirst.minimumBlockPeriod } }, seq);
          }
          const data = image.subarray(c.fileOffset, c.fileOffset + Math.min(c.maxDataSize, 50));
          reply({ cmd: 0x05, status: STATUS.SUCCESS, block: { ...id, fileOffset: c.fileOffset, data } }, seq);
        } else if (c.cmd === 0x06) {
          if (c.status !== STATUS.SUCCESS) {
            const h = { frameType: 0, direction: 1, disableDefaultResponse: true, seq, commandId: CMD_DEFAULT_RESPONSE };
            sched.setTimer(0, () => client.receive(OTA, buildZclFrame(h, encodeDefaultResponse({ commandId: 0x06, status: 0 }))));
          } else reply({ cmd: 0x07, ...id, currentTime: NOW_S, upgradeTime: s.activation === 'wait' ? UPGRADE_TIME_WAIT : NOW_S }, seq);
        }
      },
    },
    sched,
    clientOpts,
  );
  const sent = (cmd: number) => seen.filter((x) => x.c.cmd === cmd);
  return { sched, client, seen, sent, general, announces: () => announces };
}

describe('SimOtaClient', () => {
  test('a PPMID downloads in order, verifies, reports SUCCESS, reboots into the new version and announces', () => {
    const image = otaFile();
    const h = harness(image);
    h.client.hubReady();
    expect(h.announces()).toBe(1);
    const qni = h.sent(0x01)[0].c;
    expect(qni).toMatchObject({ manufacturerCode: MFR, imageType: TYPE, fileVersion: 1, hardwareVersion: 2 });
    h.sched.advance(1000);
    const offsets = h.sent(0x03).map((x) => (x.c as { fileOffset: number }).fileOffset);
    expect(offsets).toEqual(Array.from({ length: Math.ceil(image.length / 50) }, (_, i) => i * 50));
    expect(h.sent(0x06).map((x) => x.c)).toEqual([{ cmd: 0x06, status: STATUS.SUCCESS, manufacturerCode: MFR, imageType: TYPE, fileVersion: NEW_VERSION }]);
    expect(h.client.status().state).toBe('rebooting');
    h.sched.advance(5000);
    expect(h.client.status()).toMatchObject({ state: 'idle', fileVersion: NEW_VERSION, blocks: offsets.length, bytes: image.length });
    expect(h.announces()).toBe(2);
    // After the reboot it asks again, now with the new version (and is told there is nothing newer).
    expect(h.sent(0x01).map((x) => (x.c as { fileVersion: number }).fileVersion)).toEqual([1, NEW_VERSION]);
  });

  test('one corrupted byte: Upgrade End INVALID_IMAGE, the old version stays', () => {
    const image = otaFile();
    image[150] ^= 0x01;
    const h = harness(image);
    h.client.hubReady();
    h.sched.advance(10000);
    expect(h.sent(0x06).map((x) => (x.c as { status: number }).status)).toEqual([STATUS.INVALID_IMAGE]);
    expect(h.client.status()).toMatchObject({ state: 'idle', fileVersion: 1, lastError: expect.stringMatching(/Image Integrity Code mismatch/) });
    expect(h.announces()).toBe(1);
  });

  test('an image for another manufacturer is INVALID_IMAGE even with a correct integrity code', () => {
    const h = harness(otaFile({ manufacturerCode: 0x4321 }));
    h.client.hubReady();
    h.sched.advance(10000);
    expect(h.sent(0x06).map((x) => (x.c as { status: number }).status)).toEqual([STATUS.INVALID_IMAGE]);
    expect(h.client.status().lastError).toMatch(/another image/);
  });

  test('an image without an Image Integrity Code: refused by a client that validates it, taken by one that checks the header only', () => {
    const strict = harness(otaFile({ integrityCode: false }));
    strict.client.hubReady();
    strict.sched.advance(1000);
    expect(strict.sent(0x06).map((x) => (x.c as { status: number }).status)).toEqual([STATUS.INVALID_IMAGE]);
    expect(strict.client.status().lastError).toMatch(/no Image Integrity Code/);
    const lenient = harness(otaFile({ integrityCode: false }), { check: 'header' });
    lenient.client.hubReady();
    lenient.sched.advance(1000);
    expect(lenient.sent(0x06).map((x) => (x.c as { status: number }).status)).toEqual([STATUS.SUCCESS]);
  });

  test('WAIT_FOR_DATA: no request before requestTime, then blocks no closer than the adopted minimumBlockPeriod', () => {
    const h = harness(otaFile(), {}, { waitFirst: { seconds: 30, minimumBlockPeriod: 500 } });
    h.client.hubReady();
    h.sched.advance(29999);
    expect(h.sent(0x03)).toHaveLength(1);
    h.sched.advance(1);
    expect(h.sent(0x03)).toHaveLength(2);
    h.sched.advance(60000);
    const times = h.sent(0x03).map((x) => x.at);
    for (let i = 2; i < times.length; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(500);
    expect(h.client.status()).toMatchObject({ waits: 1, fileVersion: NEW_VERSION });
  });

  test('time scaling shortens every wait: a 30 s WAIT_FOR_DATA at timeScale 0.05 takes 1.5 s', () => {
    const h = harness(otaFile(), {}, { waitFirst: { seconds: 30 } }, { timeScale: 0.05 });
    h.client.hubReady();
    h.sched.advance(1499);
    expect(h.sent(0x03)).toHaveLength(1);
    h.sched.advance(1);
    expect(h.sent(0x03)[1]).toMatchObject({ at: 1500, c: { fileOffset: 0 } });
  });

  test('an HCALCS holds the image until a later Upgrade End Response activates it', () => {
    const h = harness(otaFile(), { type: 'HCALCS', eui: '000D6F0000000002' }, { activation: 'wait' });
    h.client.hubReady();
    h.sched.advance(10 * 60000);
    expect(h.client.status()).toMatchObject({ state: 'holding', fileVersion: 1, heldVersion: NEW_VERSION });
    // The hub's activate command: an unsolicited Upgrade End Response with upgradeTime 10 s ahead.
    const activate = encodeOta({ cmd: 0x07, manufacturerCode: MFR, imageType: TYPE, fileVersion: NEW_VERSION, currentTime: NOW_S, upgradeTime: NOW_S + 10 });
    h.client.receive(OTA, buildZclFrame({ frameType: 1, direction: 1, disableDefaultResponse: true, seq: 99, commandId: 0x07 }, activate));
    h.sched.advance(9999);
    expect(h.client.status().state).toBe('holding');
    h.sched.advance(1);
    expect(h.client.status().state).toBe('rebooting');
    h.sched.advance(5000);
    expect(h.client.status().fileVersion).toBe(NEW_VERSION);
    expect(h.client.status()).not.toHaveProperty('heldVersion');
    expect(h.announces()).toBe(2);
  });

  test('a reboot mid-download loses it: the device announces, queries again and restarts at offset 0', () => {
    // One block a second, so the download is still under way when the power goes.
    const h = harness(otaFile(), {}, { waitFirst: { seconds: 1, minimumBlockPeriod: 1000 } });
    h.client.hubReady();
    h.sched.advance(3500);
    expect(h.client.status()).toMatchObject({ state: 'downloading', offset: 150 });
    h.client.reboot();
    expect(h.client.status()).toMatchObject({ state: 'rebooting', offset: 0, size: 0 });
    const rebootAt = h.sched.now();
    h.sched.advance(3000);
    expect(h.announces()).toBe(2);
    expect(h.sent(0x01)).toHaveLength(2);
    const after = h.sent(0x03).filter((x) => x.at > rebootAt);
    expect((after[0].c as { fileOffset: number }).fileOffset).toBe(0);
    // The second download fetched the whole image again and passed verification.
    expect(h.client.status().bytes).toBe(otaFile().length);
    expect(h.sent(0x06).map((x) => (x.c as { status: number }).status)).toEqual([STATUS.SUCCESS]);
  });

  test('Read Attributes: CurrentFileVersion as uint32, anything else UNSUPPORTED_ATTRIBUTE', () => {
    const h = harness(otaFile());
    const read = buildZclFrame({ frameType: 0, direction: 1, disableDefaultResponse: true, seq: 5, commandId: CMD_READ_ATTRIBUTES }, encodeReadAttributes([0x0002, 0x0001]));
    h.client.receive(OTA, read);
    expect(h.general).toHaveLength(1);
    expect(h.general[0].commandId).toBe(0x01);
    expect(decodeReadAttributesResponse(h.general[0].payload)).toEqual([
      { id: 0x0002, status: 0, type: 0x23, value: 1 },
      { id: 0x0001, status: 0x86 },
    ]);
  });

  test('unanswered block requests are retried, then the client gives up and goes idle', () => {
    const h = harness(otaFile(), {}, { silent: true });
    h.client.hubReady();
    h.sched.advance(60000 - 1);
    expect(h.sent(0x03)).toHaveLength(6); // the request and 5 retries, 5 s apart
    expect(h.client.status()).toMatchObject({ state: 'idle', retries: 6, lastError: expect.stringMatching(/gave up/) });
  });

  test('queries again every queryIntervalMs while idle', () => {
    const h = harness(otaFile(), { fileVersion: NEW_VERSION, queryIntervalMs: 1000 });
    h.client.hubReady();
    h.sched.advance(3500);
    expect(h.sent(0x01)).toHaveLength(4);
  });

  test('an Image Notify with jitter 100 makes an idle client query', () => {
    const h = harness(otaFile(), { fileVersion: NEW_VERSION });
    h.client.hubReady();
    h.sched.advance(100);
    expect(h.sent(0x01)).toHaveLength(1);
    h.client.receive(OTA, buildZclFrame({ frameType: 1, direction: 1, disableDefaultResponse: true, seq: 1, commandId: 0 }, encodeOta({ cmd: 0x00, payloadType: 0, queryJitter: 100 })));
    h.sched.advance(2000);
    expect(h.sent(0x01)).toHaveLength(2);
  });

  test('timing processingMs: each answer goes out that long after the frame it answers (default 0: at once); a reboot loses a frame still in processing', () => {
    const image = otaFile();
    const blocks = Math.ceil(image.length / 50);
    const instant = harness(image);
    instant.client.hubReady();
    instant.sched.advance(1000);
    expect([...instant.sent(0x03), ...instant.sent(0x06)].map((x) => x.at)).toEqual(Array(blocks + 1).fill(0));
    // The query goes out at hubReady (no frame to process); every block request and the Upgrade End Request follow
    // the frame they answer by 3 ms (the scripted server answers at once), scaled like every simulated delay.
    for (const timeScale of [1, 0.5]) {
      const slow = harness(image, {}, {}, { timing: { processingMs: 3 }, timeScale });
      slow.client.hubReady();
      slow.sched.advance(1000);
      expect(slow.sent(0x01).map((x) => x.at)).toEqual([0]);
      expect([...slow.sent(0x03), ...slow.sent(0x06)].map((x) => x.at)).toEqual(Array.from({ length: blocks + 1 }, (_, i) => 3 * timeScale * (i + 1)));
    }
    // A Read Attributes is answered in any state: 3 ms after it came, unless the power went in between.
    const read = buildZclFrame({ frameType: 0, direction: 1, disableDefaultResponse: true, seq: 5, commandId: CMD_READ_ATTRIBUTES }, encodeReadAttributes([0x0002]));
    for (const rebootAt of [null, 2]) {
      const h = harness(image, {}, {}, { timing: { processingMs: 3 } });
      h.client.receive(OTA, read);
      if (rebootAt !== null) {
        h.sched.advance(rebootAt);
        h.client.reboot();
      }
      h.sched.advance(2.999 - (rebootAt ?? 0));
      expect(h.general).toHaveLength(0);
      h.sched.advance(10);
      expect(h.general).toHaveLength(rebootAt === null ? 1 : 0);
    }
  });

  test('quirk minBlockPeriodMs: the client states it in its block requests and keeps that pause between blocks', () => {
    const events: string[] = [];
    const h = harness(otaFile(), {}, {}, { quirks: { minBlockPeriodMs: 250 }, onEvent: (e) => events.push(e.kind) });
    h.client.hubReady();
    h.sched.advance(60000);
    const reqs = h.sent(0x03);
    expect(reqs.every((r) => (r.c as { minimumBlockPeriod?: number }).minimumBlockPeriod === 250)).toBe(true);
    for (let i = 1; i < reqs.length; i++) expect(reqs[i].at - reqs[i - 1].at).toBeGreaterThanOrEqual(250);
    expect(events.filter((k) => k === 'block')).toHaveLength(reqs.length);
  });

  test('quirk midway reboot: one reboot half way, then the download starts again from 0 and completes', () => {
    const h = harness(otaFile(), {}, {}, { quirks: { midway: { atFraction: 0.5, kind: "reboot" } } });
    h.client.hubReady();
    h.sched.advance(60000);
    const offsets = h.sent(0x03).map((x) => (x.c as { fileOffset: number }).fileOffset);
    expect(offsets.filter((o) => o === 0)).toHaveLength(2);
    expect(h.client.status()).toMatchObject({ state: 'idle', fileVersion: NEW_VERSION });
  });
});
