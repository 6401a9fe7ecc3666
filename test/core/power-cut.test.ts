// State that survives: the hub loses power at random writes during an upload and during HAN transfers,
// restarts from what reached its files, and still keeps every promise (DESIGN "What the hub promises"):
// no image served that fails its hash, no alert lost or duplicated, every job ends in exactly one
// 0x8F8A or 0x8F89. What the hub holds is seen as a user sees it: through the host link.
import * as zlib from 'zlib';
import { DEFAULT_CONFIG, Hub, HubConfig } from '../../firmware/core/hub';
import { uploads } from '../../firmware/core/image-upload';
import { OTA_CLUSTER } from '../../firmware/core/zcl-ota';
import { ImageStore } from '../../firmware/ports/image-store';
import { Radio, RadioEv } from '../../firmware/ports/radio';
import { CoreLink } from '../../host-tools/link/core-link';
import { Alert, euiToWire, ImageInfo, Job, Message } from '../../host-tools/link/hub-protocol';
import { ManualScheduler } from '../../host-tools/sim/scheduler';
import { SimOtaClient } from '../../host-tools/sim/ota-client';
import { makeImage } from '../helpers/images';
import { CutSwitch, Flash, PowerCut } from '../helpers/power-cut';
import { mulberry32 } from '../../host-tools/sim/radio-link'; // seeded, so a failing run can be repeated

const MFR = 0x1234;
const TYPE = 0x0001;
const IMAGE = makeImage({ manufacturerCode: MFR, imageType: TYPE, fileVersion: 2, size: 24 * 1024, minHardwareVersion: 1, maxHardwareVersion: 3 });
const CRC = zlib.crc32(IMAGE) >>> 0;
const CFG: HubConfig = { ...DEFAULT_CONFIG, uploadCheckpointBytes: 4096, silenceTimeoutMs: 120000 };

/** A hub booting on what reached `flash`, its writes counted by `sw`. Once the power has died, nothing it
 *  does reaches the host link (or, through Air, the radio): the port throws, which also ends a request
 *  whose cut write the hub caught as a failed request. */
function hubOn(flash: Flash, sw: CutSwitch, radio: Radio, link: CoreLink): Hub {
  const sendHost = (f: Uint8Array) => {
    sw.alive();
    link.fromHub(f);
  };
  return new Hub({ ...flash.open(sw), uploads, radio, sendHost, crc32: (b) => zlib.crc32(b) >>> 0 }, CFG);
}

/** One request over the host link; null if the power died during it (no answer reaches the host). */
function ask(link: CoreLink, hub: Hub, op: string, args: Message, now: number): Message | null {
  try {
    return link.request(hub, op, args, now);
  } catch (e) {
    if (e instanceof PowerCut) return null;
    throw e;
  }
}

/** Every record of a list request (img.list, job.list, alert.list), page by page. */
function listAll<T>(link: CoreLink, hub: Hub, op: string, key: string, now: number): T[] {
  const out: T[] = [];
  for (let from = 0; ; ) {
    const r = link.request(hub, op, { from }, now);
    expect(r.ok).toBe(true);
    out.push(...(r[key] as unknown as T[]));
    if (typeof r.more !== 'number') return out;
    from = r.more;
  }
}

/** Every complete image the hub lists matches the CRC-32 it was uploaded with: nothing else is ever served. */
function expectCompleteImagesIntact(link: CoreLink, hub: Hub, images: ImageStore, now: number): void {
  for (const m of listAll<ImageInfo>(link, hub, 'img.list', 'images', now)) if (m.complete) expect(images.crc32(m.name, m.size)).toBe(m.crc);
}

describe('power cut during an upload', () => {
  /** Runs the host's upload loop against a hub that dies at write `cutAt`, restarting it until the upload ends. */
  function uploadThroughCut(cutAt: number): { restarts: number; image: ImageInfo | undefined; totalWrites: number } {
    const flash = new Flash();
    const link = new CoreLink(() => undefined);
    try {
      let sw = new CutSwitch(cutAt);
      let restarts = 0;
      let totalWrites = 0;
      let hub = hubOn(flash, sw, idleRadio(), link);
      const call = (op: string, args: Message): Message | null => ask(link, hub, op, args, 0);
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
        if (done) return { restarts, image: listAll<ImageInfo>(link, hub, 'img.list', 'images', 0).find((m) => m.name === 'fw'), totalWrites };
        // Power back: a new hub on what reached the files.
        restarts++;
        sw = new CutSwitch();
        hub = hubOn(flash, sw, idleRadio(), link);
        expectCompleteImagesIntact(link, hub, flash.open(new CutSwitch()).images, 0);
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
  return { send: () => 0, lookup: () => 0, onBytes: () => undefined, tick: () => undefined };
}

/** What the co-processor has heard and not yet handed to the hub. */
type AirEvent =
  | { type: 'announce'; nwk: number; eui: string }
  | { type: 'message'; nwk: number; endpoint: number; cluster: number; data: Uint8Array }
  | { type: 'confirm'; handle: number; status: number };

/** The air between whichever hub is alive and the simulated clients, on one manual clock. */
class Air implements Radio {
  private events: AirEvent[] = [];
  private handle = 0;
  hub: Hub | null = null;
  /** The live hub's switch: a dead hub sends nothing. */
  sw = new CutSwitch();
  readonly clients = new Map<number, SimOtaClient>();
  constructor(private clock: ManualScheduler) {}
  /** Like the simulated stick, joined devices are announced again when a (restarted) hub registers. */
  announceAll(): void {
    for (const [nwk, c] of this.clients) this.events.push({ type: 'announce', nwk, eui: c.spec.eui });
  }
  send(nwk: number, _endpoint: number, cluster: number, data: Uint8Array, len: number): number {
    this.sw.alive();
    const frame = data.slice(0, len); // the hub reuses its buffer
    const handle = (this.handle = (this.handle + 1) & 0xff);
    const client = this.clients.get(nwk);
    this.clock.setTimer(3, () => client?.receive(cluster, frame));
    this.events.push({ type: 'confirm', handle, status: 0 });
    return handle;
  }
  /** Every device is announced: no address is unknown. */
  lookup(): number {
    this.sw.alive();
    return 0;
  }
  /** Runs hub code; a power cut inside it turns the hub off (nothing after the cut happens). */
  alive(run: () => void): void {
    try {
      run();
    } catch (e) {
      if (!(e instanceof PowerCut)) throw e;
      this.hub = null;
    }
  }
  /** What was heard goes to the hub that asked (its radioBytes or tick). */
  onBytes(_b: Uint8Array, now: number): void {
    const e = this.events;
    this.events = [];
    const sink = this.hub;
    if (!sink) return;
    for (const ev of e) {
      if (ev.type === 'announce') sink.radio(RadioEv.Announce, ev.nwk, 0, euiToWire(ev.eui), now);
      else if (ev.type === 'message') sink.radio(RadioEv.Message, ev.nwk, ev.endpoint | (ev.cluster << 8), ev.data, now);
      else sink.radio(RadioEv.Confirm, ev.handle, ev.status, null, now);
    }
  }
  tick(now: number): void {
    this.onBytes(new Uint8Array(0), now);
  }
  fromDevice(ev: AirEvent): void {
    this.clock.setTimer(3, () => {
      if (!this.hub) return; // the hub is off: the frame is lost
      this.events.push(ev);
      const hub = this.hub;
      this.alive(() => hub.radioBytes(new Uint8Array(0), this.clock.now()));
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
    const link = new CoreLink(() => undefined);
    let sw = new CutSwitch(); // no cut while the host sets the hub up
    let cutIndex = 0;
    let totalWrites = 0;
    let hub!: Hub;
    const power = () => {
      hub = hubOn(flash, sw, air, link);
      air.hub = hub;
      air.sw = sw;
      air.announceAll();
      hub.start(clock.now());
    };
    /** A request; a power cut inside it turns the hub off. */
    const request = (op: string, args: Message): Message | null => {
      const r = ask(link, hub, op, args, clock.now());
      if (!r) air.hub = null;
      return r;
    };
    const ok = (op: string, args: Message) => expect(request(op, args)).toMatchObject({ ok: true });
    power();
    // Devices and the image are set up before any cut can land (upload cuts are tested above).
    for (const d of DEVICES) ok('dev.add', { eui: d.eui, type: d.type });
    ok('img.begin', { name: 'fw', size: IMAGE.length, crc: CRC });
    for (let off = 0; off < IMAGE.length; off += 1024) ok('img.data', { name: 'fw', off, d: IMAGE.subarray(off, off + 1024) });
    ok('img.end', { name: 'fw' });
    // Reboot on an armed switch, so cuts count from the transfer's first write.
    sw = new CutSwitch(cuts[0] ?? Infinity);
    power();
    for (const d of DEVICES) {
      const c = new SimOtaClient(
        { ...d, manufacturerCode: MFR, imageType: TYPE, fileVersion: 1, hardwareVersion: 2, queryIntervalMs: 5000 },
        {
          send: (zcl) => air.fromDevice({ type: 'message', nwk: d.nwk, endpoint: 1, cluster: OTA_CLUSTER, data: zcl }),
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
      const r = request('job.start', { image: 'fw', devices: DEVICES.map((d) => d.eui) });
      if (r) expect(r).toMatchObject({ ok: true });
      jobsStarted = r !== null && r.ok === true;
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
      while (sw.dead) {
        totalWrites += sw.writes;
        air.hub = null;
        clock.advance(1000);
        sw = new CutSwitch(cuts[++cutIndex] ?? Infinity);
        power();
        expectCompleteImagesIntact(link, hub, flash.open(new CutSwitch()).images, clock.now());
        if (!jobsStarted) startJobs();
      }
    };
    const jobs = () => listAll<Job>(link, hub, 'job.list', 'jobs', clock.now());
    const allEnded = () => {
      const js = jobs();
      return js.length > 0 && js.every((j) => j.state === 'done' || j.state === 'failed');
    };
    survivePowerCut();
    for (let t = 0; t < 600 && !allEnded(); t++) {
      clock.advance(1000);
      survivePowerCut();
      // The host activates the HCALCS's image once it holds it.
      if (jobs().some((j) => j.eui === DEVICES[1].eui && j.state === 'transferred')) request('activate', { eui: DEVICES[1].eui });
      survivePowerCut();
    }
    totalWrites += sw.writes;
    const alerts = listAll<Alert>(link, hub, 'alert.list', 'alerts', clock.now());
    const result = { alerts, jobs: jobs(), clients: [...air.clients.values()], totalWrites };
    flash.destroy();
    return result;
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
