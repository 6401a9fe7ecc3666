// State that survives: the hub loses power at random writes during an upload and during HAN transfers,
// restarts from what reached its files, and still keeps every promise (DESIGN "What the hub promises"):
// no image served that fails its hash, no alert lost or duplicated, every job ends in exactly one
// 0x8F8A or 0x8F89.
import { parseImageHeader } from '../../firmware/core/image-header';
import { ImageUploads } from '../../firmware/core/image-upload';
import * as zlib from 'zlib';
import { Alert } from '../../firmware/core/alert-queue';
import { Message } from '../../firmware/core/host-link';
import { DEFAULT_CONFIG, Hub, HubConfig } from '../../firmware/core/hub';
import { ImageMeta } from '../../firmware/core/image-catalog';
import { Job } from '../../firmware/core/transfer-jobs';
import { OTA_CLUSTER } from '../../firmware/core/zcl-ota';
import { Radio, RadioAddress, RadioEvent } from '../../firmware/ports/radio';
import { ImageStore } from '../../firmware/ports/image-store';
import { ManualScheduler } from '../../host-tools/sim/scheduler';
import { SimOtaClient } from '../../host-tools/sim/ota-client';
import { makeImage } from '../helpers/images';
import { CutSwitch, Flash, PowerCut } from '../helpers/power-cut';
import { mulberry32 } from '../../host-tools/sim/radio-model'; // seeded, so a failing run can be repeated

const MFR = 0x1234;
const TYPE = 0x0001;
const IMAGE = makeImage({ manufacturerCode: MFR, imageType: TYPE, fileVersion: 2, size: 24 * 1024, minHardwareVersion: 1, maxHardwareVersion: 3 });
const CRC = zlib.crc32(IMAGE) >>> 0;
const CFG: HubConfig = { ...DEFAULT_CONFIG, uploadCheckpointBytes: 4096, silenceTimeoutMs: 120000 };


/** Every complete image on the hub matches the CRC-32 it was uploaded with: nothing else is ever served. */
function expectCompleteImagesIntact(hub: Hub, images: ImageStore): void {
  for (const m of hub.images.list()) if (m.complete) expect(images.crc32(m.name, m.size)).toBe(m.crc);
}

describe('power cut during an upload', () => {
  /** Runs the host's upload loop against a hub that dies at write `cutAt`, restarting it until the upload ends. */
  function uploadThroughCut(cutAt: number): { restarts: number; image: ImageMeta; totalWrites: number } {
    const flash = new Flash();
    try {
      let sw = new CutSwitch(cutAt);
      let restarts = 0;
      let totalWrites = 0;
      let stores = flash.open(sw);
      let replies: Message[] = [];
      let hub = new Hub({ ...stores, uploads: new ImageUploads(parseImageHeader), radio: idleRadio(), sendHost: (m) => replies.push(m) }, CFG);
      let id = 0;
      const call = (op: string, args: Message): Message | null => {
        replies = [];
        hub.onHostMessage({ ...args, op, i: ++id }, 0);
        if (sw.writes >= sw.cutAt) return null; // died inside this request: no answer reaches the host
        return replies.find((r) => r.i === id)!;
      };
      for (;;) {
        const done = (() => {
          const begin = call('img.begin', { name: 'fw', size: IMAGE.length, crc: CRC });
          if (!begin) return false;
          expect(begin.ok).toBe(true);
          for (let off = begin.next as number; off < IMAGE.length; off += 1024) {
            const r = call('img.data', { name: 'fw', off, d: IMAGE.subarray(off, off + 1024) });
            if (!r) return false;
            expect(r).toMatchObject({ ok: true, next: Math.min(IMAGE.length, off + 1024) });
          }
          const end = call('img.end', { name: 'fw' });
          if (!end) return false;
          expect(end.ok).toBe(true);
          return true;
        })();
        totalWrites += sw.writes;
        if (done) return { restarts, image: hub.images.get('fw'), totalWrites };
        // Power back: a new hub on what reached the files.
        restarts++;
        sw = new CutSwitch();
        stores = flash.open(sw);
        hub = new Hub({ ...stores, uploads: new ImageUploads(parseImageHeader), radio: idleRadio(), sendHost: (m) => replies.push(m) }, CFG);
        expectCompleteImagesIntact(hub, stores.images);
      }
    } finally {
      flash.destroy();
    }
  }

  test('at 60 random writes: the upload resumes and ends with an intact image', () => {
    const writes = uploadThroughCut(Infinity).totalWrites;
    const rnd = mulberry32(1);
    const points = Array.from({ length: 60 }, () => 1 + Math.floor(rnd() * writes));
    for (const cutAt of points) {
      const r = uploadThroughCut(cutAt);
      expect({ cutAt, restarts: r.restarts }).toEqual({ cutAt, restarts: 1 });
      expect(r.image).toMatchObject({ complete: true, size: IMAGE.length, crc: CRC, fileVersion: 2 });
    }
  });
});

/** A radio that carries nothing (upload tests) — the host link is all that matters there. */
function idleRadio(): Radio {
  return { start: () => undefined, send: () => 0, lookup: () => undefined, onBytes: () => [], tick: () => [] };
}

/** The air between whichever hub is alive and the simulated clients, on one manual clock. */
class Air implements Radio {
  private events: RadioEvent[] = [];
  private handle = 0;
  hub: Hub | null = null;
  readonly clients = new Map<number, SimOtaClient>();
  constructor(private clock: ManualScheduler) {}
  /** Like the simulated stick, joined devices are announced again when a (restarted) hub registers. */
  start(): void {
    this.events.push({ type: 'ready' });
    for (const [nwk, c] of this.clients) this.events.push({ type: 'announce', nwk, eui: c.spec.eui });
  }
  send(dst: RadioAddress, clusterId: number, data: Uint8Array): number {
    const handle = (this.handle = (this.handle + 1) & 0xff);
    const client = this.clients.get(dst.nwk);
    this.clock.setTimer(3, () => client?.receive(clusterId, data));
    this.events.push({ type: 'confirm', handle, status: 0 });
    return handle;
  }
  /** Every device is announced: no address is unknown. */
  lookup(): void {}
  /** Runs hub code; a power cut inside it turns the hub off (nothing after the cut happens). */
  alive(run: () => void): void {
    try {
      run();
    } catch (e) {
      if (!(e instanceof PowerCut)) throw e;
      this.hub = null;
    }
  }
  onBytes(): RadioEvent[] {
    const e = this.events;
    this.events = [];
    return e;
  }
  tick(): RadioEvent[] {
    return this.onBytes();
  }
  fromDevice(ev: RadioEvent): void {
    this.clock.setTimer(3, () => {
      if (!this.hub) return; // the hub is off: the frame is lost
      this.events.push(ev);
      const hub = this.hub;
      this.alive(() => hub.onRadioBytes(new Uint8Array(0), this.clock.now()));
    });
  }
}

describe('power cut during HAN transfers', () => {
  const DEVICES = [
    { eui: '000D6F00000000A1', nwk: 0x2001, type: 'PPMID' as const },
    { eui: '000D6F00000000A2', nwk: 0x2002, type: 'HCALCS' as const },
  ];

  function transferThroughCuts(cuts: number[]): { alerts: Alert[]; jobs: Job[]; clients: SimOtaClient[]; totalWrites: number } {
    const flash = new Flash();
    const clock = new ManualScheduler(1_700_000_000_000);
    const air = new Air(clock);
    const replies: Message[] = [];
    let sw = new CutSwitch(); // no cut while the host sets the hub up
    let cutIndex = 0;
    let totalWrites = 0;
    let hub!: Hub;
    const power = () => {
      hub = new Hub({ ...flash.open(sw), uploads: new ImageUploads(parseImageHeader), radio: air, sendHost: (m) => replies.push(m) }, CFG);
      air.hub = hub;
      hub.start(clock.now());
    };
    power();
    // Devices and the image are set up before any cut can land (upload cuts are tested above).
    for (const d of DEVICES) hub.onHostMessage({ op: 'dev.add', i: 1, eui: d.eui, type: d.type }, clock.now());
    hub.onHostMessage({ op: 'img.begin', i: 2, name: 'fw', size: IMAGE.length, crc: CRC }, clock.now());
    for (let off = 0; off < IMAGE.length; off += 1024) hub.onHostMessage({ op: 'img.data', i: 3, name: 'fw', off, d: IMAGE.subarray(off, off + 1024) }, clock.now());
    hub.onHostMessage({ op: 'img.end', i: 4, name: 'fw' }, clock.now());
    // Reboot on an armed switch, so cuts count from the transfer's first write.
    sw = new CutSwitch(cuts[0] ?? Infinity);
    power();
    for (const d of DEVICES) {
      const c = new SimOtaClient(
        { ...d, manufacturerCode: MFR, imageType: TYPE, fileVersion: 1, hardwareVersion: 2, queryIntervalMs: 5000 },
        {
          send: (zcl) => air.fromDevice({ type: 'message', src: { nwk: d.nwk, endpoint: 1 }, dstEndpoint: 1, clusterId: OTA_CLUSTER, data: zcl, linkQuality: 200 }),
          announce: () => air.fromDevice({ type: 'announce', nwk: d.nwk, eui: d.eui }),
        },
        clock,
        { random: mulberry32(d.nwk) },
      );
      air.clients.set(d.nwk, c);
      c.hubReady();
    }
    // The host starts the jobs, and asks again after a reset until a request was answered.
    let jobsStarted = false;
    const startJobs = () => {
      hub.onHostMessage({ op: 'job.start', i: 5, image: 'fw', devices: DEVICES.map((d) => d.eui) }, clock.now());
      jobsStarted = sw.writes < sw.cutAt && replies.some((m) => m.i === 5 && m.ok === true);
    };
    startJobs();
    const tick = () => {
      const h = air.hub;
      if (h) air.alive(() => h.tick(clock.now()));
      clock.setTimer(100, tick);
    };
    clock.setTimer(100, tick);
    /** If the hub died at its cut write, it stays off for a second, then boots from its files. */
    const survivePowerCut = () => {
      if (sw.writes < sw.cutAt) return;
      totalWrites += sw.writes;
      air.hub = null;
      clock.advance(1000);
      sw = new CutSwitch(cuts[++cutIndex] ?? Infinity);
      power();
      expectCompleteImagesIntact(hub, flash.open(new CutSwitch()).images);
      if (!jobsStarted) startJobs();
    };
    survivePowerCut();
    for (let t = 0; t < 600 && !allEnded(hub); t++) {
      clock.advance(1000);
      survivePowerCut();
      const held = hub.jobs.holding(DEVICES[1].eui);
      if (held && held.state === 'transferred') hub.onHostMessage({ op: 'activate', i: 6, eui: DEVICES[1].eui }, clock.now());
    }
    totalWrites += sw.writes;
    const alerts = hub.alerts.list();
    const jobs = hub.jobs.list();
    flash.destroy();
    return { alerts, jobs, clients: [...air.clients.values()], totalWrites };

    function allEnded(h: Hub): boolean {
      const jobs = h.jobs.list();
      return jobs.length > 0 && jobs.every((j) => j.state === 'done' || j.state === 'failed');
    }
  }

  /** Exactly one transfer alert per job, and every job in an end state. */
  function expectPromisesKept(r: ReturnType<typeof transferThroughCuts>, label: string): void {
    const transfer = r.alerts.filter((a) => a.code === 0x8f8a || a.code === 0x8f89);
    expect({ label, alerts: transfer.map((a) => a.eui).sort() }).toEqual({ label, alerts: DEVICES.map((d) => d.eui).sort() });
    expect({ label, states: r.jobs.map((j) => j.state) }).toEqual({ label, states: ['done', 'done'] });
    for (const c of r.clients) {
      expect({ label, eui: c.spec.eui, version: c.status().fileVersion, error: c.status().lastError }).toEqual({
        label,
        eui: c.spec.eui,
        version: 2,
        error: undefined,
      });
    }
  }

  test('at 60 random writes: no alert lost or duplicated, every job ends once, clients verify what they got', () => {
    const baseline = transferThroughCuts([]);
    expectPromisesKept(baseline, 'no cut');
    const rnd = mulberry32(7);
    for (let i = 0; i < 60; i++) {
      const cutAt = 1 + Math.floor(rnd() * baseline.totalWrites);
      expectPromisesKept(transferThroughCuts([cutAt]), `cut at write ${cutAt} of ${baseline.totalWrites}`);
    }
  });
});
