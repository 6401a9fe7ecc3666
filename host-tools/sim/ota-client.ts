// One simulated HAN device (PPMID or HCALCS) running the ZigBee OTA client state machine (OTA spec §6.10;
// FACTS §2). It is deliberately built only from the shared codecs, never from the hub's server code, so the
// two sides can disagree and a test will notice.
import { normaliseEui } from '../../firmware/core/bytes';
import {
  buildZclFrame,
  CMD_DEFAULT_RESPONSE,
  CMD_READ_ATTRIBUTES,
  CMD_READ_ATTRIBUTES_RESPONSE,
  decodeDefaultResponse,
  decodeReadAttributes,
  DefaultResponse,
  DIR_CLIENT_TO_SERVER,
  DIR_SERVER_TO_CLIENT,
  encodeDefaultResponse,
  encodeReadAttributesResponse,
  FRAME_TYPE_CLUSTER,
  FRAME_TYPE_GLOBAL,
  parseZclFrame,
  TYPE_UINT32,
  ZclFrame,
} from '../../firmware/core/zcl-frame';
import {
  decodeOta,
  buildOtaFrame,
  ImageBlockResponse,
  ImageId,
  ImageNotify,
  isServerToClient,
  OTA_CLUSTER,
  OtaCommand,
  QueryNextImageResponse,
  STATUS,
  UPGRADE_TIME_WAIT,
  UpgradeEndResponse,
} from '../../firmware/core/zcl-ota';
import { checkImage, ImageCheck } from './image-check';
import { Scheduler, TimerHandle } from './scheduler';

export type SimDeviceType = 'PPMID' | 'HCALCS';
export type ClientState = 'idle' | 'querying' | 'downloading' | 'verifying' | 'holding' | 'rebooting';

export interface SimDeviceSpec {
  eui: string;
  nwk: number;
  type: SimDeviceType;
  manufacturerCode: number;
  imageType: number;
  fileVersion: number;
  hardwareVersion: number;
  /** Largest block the client asks for. */
  maxDataSize?: number;
  check?: ImageCheck;
  /** Between Query Next Image Requests while idle, in ms before time scaling. */
  queryIntervalMs?: number;
  /** The device's application endpoint (the hub sends to endpoint 1 until it hears from another). */
  endpoint?: number;
}

export interface SimDeviceState {
  eui: string;
  type: SimDeviceType;
  state: ClientState;
  fileVersion: number;
  heldVersion?: number;
  offset: number;
  size: number;
  retries: number;
  waits: number;
  blocks: number;
  bytes: number;
  /** Why the last download or upgrade did not finish. */
  lastError?: string;
}

/** Client timing in ms before time scaling. */
export interface ClientTiming {
  /** Wait for an Image Block / Upgrade End Response before asking again. */
  responseTimeoutMs: number;
  /** Consecutive unanswered requests before the client gives up and goes back to idle. */
  maxRetries: number;
  /** "Reboot" into a new image. */
  rebootMs: number;
  /** Largest random delay between an Image Notify and the query it triggers. */
  notifyJitterMs: number;
  /** The client's processing time: from its stack handing up an OTA-cluster frame to the client acting on it (and
   *  handing any answer to its MAC). 0 by default: no sourced figure for a device's APS/ZCL handling was found, and
   *  the simulator's figures are for 0; other values are for sensitivity runs (docs/simulator.md, *Figures*). */
  processingMs: number;
}

export const DEFAULT_TIMING: ClientTiming = { responseTimeoutMs: 5000, maxRetries: 5, rebootMs: 3000, notifyJitterMs: 2000, processingMs: 0 };

/** How the client reaches the network: the simulator puts these on the radio. */
export interface ClientLink {
  /** A ZCL frame for the hub's OTA cluster. */
  send(zcl: Uint8Array): void;
  /** A ZDO end-device announce (ieee + nwk). */
  announce(): void;
}

/** Something that happens to a client once, when a download passes a fraction of the image. */
export type Midway =
  /** Power cut: the download is lost; the device boots and starts again. */
  | { atFraction: number; kind: 'reboot' }
  /** The stack hangs: not another frame, answered or not, ever. */
  | { atFraction: number; kind: 'silent' }
  /** The device gets busy and asks for nothing for a while, then carries on where it was. */
  | { atFraction: number; kind: 'pause'; ms: number };

/**
 * Ways a client may differ from the textbook one (FACTS §2 lists those seen in the field). Scenario
 * profiles (profiles.ts) name sets of these; a new quirk is a field here and the few lines that act on it.
 */
export interface ClientQuirks {
  /** The client's own pause between blocks (ms), stated in its Image Block Requests as minimumBlockPeriod. */
  minBlockPeriodMs: number;
  midway?: Midway;
  /** Sends every Image Block Request twice. */
  repeatRequests?: boolean;
  /** Every n-th block, first asks for the block after the one it needs, then for that one: requests out of order. */
  outOfOrderEvery?: number;
  /** The maxDataSize of successive Image Block Requests, in turn, instead of the device's maxDataSize. */
  maxDataSizes?: number[];
  /** Every n-th request never leaves the client (its own stack drops it); it times out and asks again. */
  dropEvery?: number;
  /** Its image check always fails: it answers a finished download with Upgrade End INVALID_IMAGE. */
  rejectImage?: boolean;
  /** On its first boot it resumes, without a query, a download the hub does not hold (kept from elsewhere). */
  staleDownload?: { fileVersion: number; offset: number; size: number };
  /** Pulls with Image Page Requests (OTA spec §6.10.7) instead of Image Block Requests. */
  pageRequests?: { pageSize: number; responseSpacingMs: number };
  /** Reads minimumBlockPeriod as seconds, not ms: the server's in WAIT_FOR_DATA, and its own when stating it. */
  periodInSeconds?: boolean;
  /** Answers every server command with a ZCL Default Response, even when the server disabled them. */
  alwaysDefaultResponse?: boolean;
}

export const TEXTBOOK_CLIENT: ClientQuirks = { minBlockPeriodMs: 0 };

/** What a client did, for traces and timelines (every block, unlike onChange). */
export type ClientEvent =
  | { kind: 'state'; state: ClientState; error?: string }
  | { kind: 'block'; offset: number; size: number; bytes: number }
  | { kind: 'retry'; what: string }
  | { kind: 'wait'; ms: number };

export interface ClientOptions {
  timeScale?: number;
  random?: () => number;
  timing?: Partial<ClientTiming>;
  /** Called when state, fileVersion or heldVersion change (not on every block). */
  onChange?: (s: SimDeviceState) => void;
  onEvent?: (e: ClientEvent) => void;
  quirks?: Partial<ClientQuirks>;
}

/** OTA client attribute CurrentFileVersion (OTA spec §6.7.2). */
const ATTR_CURRENT_FILE_VERSION = 0x0002;
/** ZCL status UNSUPPORTED_ATTRIBUTE (ZCL §2.6.3). */
const UNSUPPORTED_ATTRIBUTE = 0x86;
/** Wildcards a server may use in an Upgrade End Response that activates (OTA spec §6.10.10.4). */
const ANY_MANUFACTURER = 0xffff;
const ANY_IMAGE_TYPE = 0xffff;
const ANY_VERSION = 0xffffffff;

interface Download {
  id: ImageId;
  image: Uint8Array;
  offset: number;
}

export class SimOtaClient {
  readonly spec: Required<SimDeviceSpec>;
  private state: ClientState = 'idle';
  private fileVersion: number;
  private download: Download | null = null;
  private held: { id: ImageId; image: Uint8Array } | null = null;
  /** Adopted from WAIT_FOR_DATA (ms): the pause the server asked for between blocks. */
  private blockPeriodMs = 0;
  private attempts = 0;
  private counters = { retries: 0, waits: 0, blocks: 0, bytes: 0 };
  private lastError: string | undefined;
  /** What onChange last saw, so progress within a state is not reported as a change. */
  private reported = '';
  private seq = 0;
  private timer: TimerHandle | null = null;
  private queryTimer: TimerHandle | null = null;
  /** Frames handed up but not yet processed (timing.processingMs > 0). */
  private processing = new Set<TimerHandle>();
  private readonly timing: ClientTiming;
  private readonly quirks: ClientQuirks;
  /** The midway quirk and the stale download happen once per client. */
  private midwayDone = false;
  private staleDone = false;
  /** A hung stack (midway 'silent'): deaf and mute from then on. */
  private hung = false;
  /** Image Block Requests and OTA requests sent so far (maxDataSizes, dropEvery). */
  private blockRequests = 0;
  private requests = 0;
  /** Data bytes of the last block received (outOfOrderEvery asks that far ahead). */
  private lastBlockBytes = 0;
  /** End (exclusive) of the page a page-request client is being sent. */
  private pageEnd = 0;
  /** A pause (midway 'pause') to take before the next request, ms. */
  private pauseMs = 0;
  private readonly timeScale: number;
  private readonly random: () => number;

  constructor(
    spec: SimDeviceSpec,
    private readonly link: ClientLink,
    private readonly scheduler: Scheduler,
    private readonly opts: ClientOptions = {},
  ) {
    const eui = normaliseEui(spec.eui);
    if (eui === null) throw new Error('bad EUI-64 for a simulated device: ' + spec.eui);
    this.spec = {
      ...spec,
      eui,
      maxDataSize: spec.maxDataSize ?? 64,
      check: spec.check ?? 'integrity-code',
      queryIntervalMs: spec.queryIntervalMs ?? 60000,
      endpoint: spec.endpoint ?? 1,
    };
    this.fileVersion = spec.fileVersion;
    this.timing = { ...DEFAULT_TIMING, ...opts.timing };
    this.quirks = { ...TEXTBOOK_CLIENT, ...opts.quirks };
    this.timeScale = opts.timeScale ?? 1;
    this.random = opts.random ?? Math.random;
  }

  status(): SimDeviceState {
    const s: SimDeviceState = {
      eui: this.spec.eui,
      type: this.spec.type,
      state: this.state,
      fileVersion: this.fileVersion,
      offset: this.download ? this.download.offset : 0,
      size: this.download ? this.download.image.length : 0,
      ...this.counters,
    };
    if (this.held) s.heldVersion = this.held.id.fileVersion;
    if (this.lastError !== undefined) s.lastError = this.lastError;
    return s;
  }

  /** The hub registered its endpoint: say we are here and look for an image. */
  hubReady(): void {
    if (this.hung) return;
    this.link.announce();
    if (this.queryTimer === null) this.schedulePeriodicQuery();
    if (this.state === 'idle') this.startUp();
  }

  /** Power cycle: a download in progress is lost; a held image survives (it is in flash). */
  reboot(): void {
    this.dropProcessing();
    this.hung = false;
    this.download = null;
    this.enter('rebooting');
    this.after(this.timing.rebootMs, () => this.boot());
  }

  /** Cancels every timer (simulator shutdown). */
  stop(): void {
    this.dropProcessing();
    this.clearTimer();
    if (this.queryTimer !== null) this.scheduler.clearTimer(this.queryTimer);
    this.queryTimer = null;
  }

  /** An APS frame from the hub on one of our clusters: acted on (and answered) after the client's processing time. */
  receive(clusterId: number, data: Uint8Array): void {
    if (clusterId !== OTA_CLUSTER || this.hung) return;
    const ms = this.timing.processingMs;
    if (!(ms > 0)) return this.process(data);
    const h = this.scheduler.setTimer(ms * this.timeScale, () => {
      this.processing.delete(h);
      this.process(data);
    });
    this.processing.add(h);
  }

  private process(data: Uint8Array): void {
    let f: ZclFrame;
    try {
      f = parseZclFrame(data);
    } catch {
      return; // not even a ZCL header: nothing to answer
    }
    if (f.header.frameType === FRAME_TYPE_GLOBAL) return this.onGeneral(f);
    if (!isServerToClient(f.header.commandId)) return this.defaultResponse(f, STATUS.UNSUP_COMMAND);
    let c: OtaCommand;
    try {
      c = decodeOta(f.header.commandId, f.payload);
    } catch (e) {
      return this.defaultResponse(f, (e as { code?: string }).code === 'TRUNCATED' ? STATUS.MALFORMED_COMMAND : STATUS.UNSUP_COMMAND);
    }
    if (this.quirks.alwaysDefaultResponse) this.sendDefaultResponse(f, STATUS.SUCCESS);
    if (c.cmd === 0x00) this.onImageNotify(c);
    else if (c.cmd === 0x02) this.onQueryResponse(c);
    else if (c.cmd === 0x05) this.onBlockResponse(c);
    else if (c.cmd === 0x07) this.onEndResponse(c);
  }

  // --- general commands ---

  private onGeneral(f: ZclFrame): void {
    if (f.header.commandId === CMD_DEFAULT_RESPONSE) return this.onDefaultResponse(f);
    // Read Attributes of our (client-side) attributes comes from the server side: direction server→client.
    if (f.header.commandId !== CMD_READ_ATTRIBUTES || f.header.direction !== DIR_SERVER_TO_CLIENT) return;
    let ids: number[];
    try {
      ids = decodeReadAttributes(f.payload);
    } catch {
      return this.defaultResponse(f, STATUS.MALFORMED_COMMAND);
    }
    const records = ids.map((id) =>
      id === ATTR_CURRENT_FILE_VERSION ? { id, status: 0, type: TYPE_UINT32, value: this.fileVersion } : { id, status: UNSUPPORTED_ATTRIBUTE },
    );
    const h = { frameType: FRAME_TYPE_GLOBAL, direction: DIR_CLIENT_TO_SERVER, disableDefaultResponse: true, seq: f.header.seq, commandId: CMD_READ_ATTRIBUTES_RESPONSE };
    this.link.send(buildZclFrame(h, encodeReadAttributesResponse(records)));
  }

  /** A server that will not give a download (NO_IMAGE_AVAILABLE, NOT_AUTHORIZED…) says so in a Default Response. */
  private onDefaultResponse(f: ZclFrame): void {
    let r: DefaultResponse;
    try {
      r = decodeDefaultResponse(f.payload);
    } catch {
      return;
    }
    const refused = r.commandId === 0x03 || r.commandId === 0x04;
    if (this.state === 'downloading' && refused && r.status !== STATUS.SUCCESS) this.toIdle('download refused: status 0x' + r.status.toString(16));
  }

  private defaultResponse(f: ZclFrame, status: number): void {
    if (!f.header.disableDefaultResponse) this.sendDefaultResponse(f, status);
  }

  private sendDefaultResponse(f: ZclFrame, status: number): void {
    const h = { frameType: FRAME_TYPE_GLOBAL, direction: DIR_CLIENT_TO_SERVER, disableDefaultResponse: true, seq: f.header.seq, commandId: CMD_DEFAULT_RESPONSE };
    this.link.send(buildZclFrame(h, encodeDefaultResponse({ commandId: f.header.commandId, status })));
  }

  // --- OTA client state machine ---

  private onImageNotify(c: ImageNotify): void {
    if (this.state !== 'idle') return;
    // Ignore notifies for other images (OTA spec §6.10.3.4) and broadcasts with a reserved jitter.
    if (c.queryJitter < 1 || c.queryJitter > 100) return;
    if (c.manufacturerCode !== undefined && c.manufacturerCode !== ANY_MANUFACTURER && c.manufacturerCode !== this.spec.manufacturerCode) return;
    if (c.imageType !== undefined && c.imageType !== ANY_IMAGE_TYPE && c.imageType !== this.spec.imageType) return;
    if (c.fileVersion !== undefined && c.fileVersion === this.fileVersion) return;
    // Query with probability queryJitter/100, after a random pause so notified devices do not all answer at once.
    if (1 + Math.floor(this.random() * 100) > c.queryJitter) return;
    this.after(this.random() * this.timing.notifyJitterMs, () => {
      if (this.state === 'idle') this.query();
    });
  }

  private query(): void {
    this.enter('querying');
    this.sendOta({
      cmd: 0x01,
      manufacturerCode: this.spec.manufacturerCode,
      imageType: this.spec.imageType,
      fileVersion: this.fileVersion,
      hardwareVersion: this.spec.hardwareVersion,
    });
    this.after(this.timing.responseTimeoutMs, () => this.toIdle('no Query Next Image Response'));
  }

  private onQueryResponse(c: QueryNextImageResponse): void {
    if (this.state !== 'querying') return;
    this.clearTimer();
    if (c.status !== STATUS.SUCCESS || !c.image) {
      return this.toIdle(c.status === STATUS.NO_IMAGE_AVAILABLE ? undefined : 'Query Next Image status 0x' + c.status.toString(16));
    }
    const i = c.image;
    this.download = { id: { manufacturerCode: i.manufacturerCode, imageType: i.imageType, fileVersion: i.fileVersion }, image: new Uint8Array(i.imageSize), offset: 0 };
    this.counters = { retries: 0, waits: 0, blocks: 0, bytes: 0 };
    this.blockPeriodMs = 0;
    this.attempts = 0;
    this.lastError = undefined;
    this.enter('downloading');
    if (i.imageSize === 0) this.verify();
    else this.requestBlock();
  }

  /** First thing after power-up: resume a stale download (quirk) or look for an image. */
  private startUp(): void {
    const stale = this.quirks.staleDownload;
    if (!stale || this.staleDone) return this.query();
    this.staleDone = true;
    const id = { manufacturerCode: this.spec.manufacturerCode, imageType: this.spec.imageType, fileVersion: stale.fileVersion };
    this.download = { id, image: new Uint8Array(stale.size), offset: stale.offset };
    this.enter('downloading');
    this.requestBlock();
  }

  /** Asks for the next block (or page), with the repeats and jumps ahead its quirks add. */
  private requestBlock(): void {
    const d = this.download as Download;
    const q = this.quirks;
    const what = q.pageRequests ? 'Image Page Request' : 'Image Block Request';
    const ahead = d.offset + this.lastBlockBytes;
    if (q.outOfOrderEvery && this.lastBlockBytes > 0 && this.counters.blocks % q.outOfOrderEvery === 0 && ahead < d.image.length) this.sendRequest(ahead);
    this.sendRequest(d.offset);
    if (q.repeatRequests) this.sendRequest(d.offset);
    this.after(this.timing.responseTimeoutMs, () => this.retry(what, () => this.requestBlock()));
  }

  private sendRequest(fileOffset: number): void {
    const d = this.download as Download;
    const q = this.quirks;
    const sizes = q.maxDataSizes;
    const maxDataSize = sizes && sizes.length ? sizes[this.blockRequests++ % sizes.length] : this.spec.maxDataSize;
    if (q.pageRequests) {
      this.pageEnd = Math.min(d.image.length, fileOffset + q.pageRequests.pageSize);
      return this.sendOta({ cmd: 0x04, ...d.id, fileOffset, maxDataSize, pageSize: q.pageRequests.pageSize, responseSpacing: q.pageRequests.responseSpacingMs });
    }
    // The period it keeps, stated in the unit it believes in (FACTS §2: some clients think seconds).
    const period = this.periodMs();
    const stated = q.periodInSeconds ? Math.ceil(period / 1000) : period;
    this.sendOta({ cmd: 0x03, ...d.id, fileOffset, maxDataSize, minimumBlockPeriod: stated > 0 ? stated : undefined });
  }

  /** Pause between blocks: its own, or the server's if longer. */
  private periodMs(): number {
    return Math.max(this.blockPeriodMs, this.quirks.minBlockPeriodMs);
  }

  /** An unanswered request: ask again, or give up after maxRetries in a row. */
  private retry(what: string, again: () => void): void {
    this.attempts++;
    this.counters.retries++;
    this.trace({ kind: 'retry', what });
    if (this.attempts > this.timing.maxRetries) return this.toIdle('gave up: ' + what + ' unanswered ' + this.attempts + ' times');
    again();
  }

  private onBlockResponse(c: ImageBlockResponse): void {
    const d = this.download;
    if (this.state !== 'downloading' || !d) return;
    if (c.status === STATUS.SUCCESS && c.block) {
      const b = c.block;
      // A late answer to an earlier request, or for another image: keep waiting for ours.
      if (!sameImage(b, d.id) || b.fileOffset !== d.offset || b.data.length === 0) return;
      this.clearTimer();
      const n = Math.min(b.data.length, d.image.length - d.offset);
      d.image.set(b.data.subarray(0, n), d.offset);
      d.offset += n;
      this.attempts = 0;
      this.counters.blocks++;
      this.counters.bytes += n;
      this.lastBlockBytes = n;
      this.trace({ kind: 'block', offset: d.offset, size: d.image.length, bytes: n });
      const m = this.quirks.midway;
      if (m && !this.midwayDone && d.offset >= m.atFraction * d.image.length) {
        this.midwayDone = true;
        if (m.kind === 'reboot') return this.reboot();
        if (m.kind === 'silent') return this.hang();
        this.pauseMs = m.ms;
      }
      if (d.offset >= d.image.length) return this.verify();
      // Within a page the server sends the next block by itself: wait for it, and ask again only if it never comes.
      if (this.quirks.pageRequests && d.offset < this.pageEnd) return this.after(this.timing.responseTimeoutMs, () => this.retry('Image Page Request', () => this.requestBlock()));
      const pause = Math.max(this.periodMs(), this.pauseMs);
      this.pauseMs = 0;
      this.after(pause, () => this.requestBlock());
    } else if (c.status === STATUS.WAIT_FOR_DATA && c.wait) {
      this.clearTimer();
      this.attempts = 0;
      this.counters.waits++;
      // The server's minimumBlockPeriod (ms) becomes ours for the rest of the download (FACTS §2).
      const p = c.wait.minimumBlockPeriod;
      if (p !== undefined) this.blockPeriodMs = this.quirks.periodInSeconds ? p * 1000 : p;
      const waitMs = Math.max(0, c.wait.requestTime - c.wait.currentTime) * 1000;
      this.trace({ kind: 'wait', ms: waitMs });
      this.after(waitMs, () => this.requestBlock());
    } else {
      this.clearTimer();
      this.toIdle(c.status === STATUS.ABORT ? 'server aborted the download' : 'Image Block Response status 0x' + c.status.toString(16));
    }
  }

  private verify(): void {
    const d = this.download as Download;
    this.enter('verifying');
    const problem = this.quirks.rejectImage ? 'refused by the device' : checkImage(d.image, { ...d.id, hardwareVersion: this.spec.hardwareVersion }, this.spec.check);
    this.attempts = 0;
    if (problem !== null) {
      this.sendOta({ cmd: 0x06, status: STATUS.INVALID_IMAGE, ...d.id });
      // The server answers a failed Upgrade End with a Default Response only: nothing to wait for.
      return this.toIdle('invalid image: ' + problem);
    }
    this.sendEnd();
  }

  private sendEnd(): void {
    const d = this.download as Download;
    this.sendOta({ cmd: 0x06, status: STATUS.SUCCESS, ...d.id });
    this.after(this.timing.responseTimeoutMs, () => this.retry('Upgrade End Request', () => this.sendEnd()));
  }

  private onEndResponse(c: UpgradeEndResponse): void {
    const d = this.download;
    if (this.state === 'verifying' && d && matches(c, d.id)) {
      this.held = { id: d.id, image: d.image };
      this.download = null;
    } else if (!(this.state === 'holding' && this.held && matches(c, this.held.id))) {
      return; // nothing of ours to upgrade to
    }
    this.clearTimer();
    if (c.upgradeTime !== UPGRADE_TIME_WAIT && c.upgradeTime <= c.currentTime) return this.activate();
    this.enter('holding');
    // UPGRADE_TIME_WAIT (an HCALCS): hold until the hub's activate command, a later Upgrade End Response.
    if (c.upgradeTime !== UPGRADE_TIME_WAIT) this.after((c.upgradeTime - c.currentTime) * 1000, () => this.activate());
  }

  private activate(): void {
    this.enter('rebooting');
    this.after(this.timing.rebootMs, () => {
      const h = this.held;
      if (h) this.fileVersion = h.id.fileVersion;
      this.held = null;
      this.boot();
    });
  }

  /** Coming back up: announce (the network may have forgotten us), then carry on. */
  private boot(): void {
    this.link.announce();
    if (this.held) this.enter('holding');
    else this.startUp();
  }

  /** The stack hangs mid-download: nothing sent, nothing heard, the state frozen — until a power cycle. */
  private hang(): void {
    this.hung = true;
    this.dropProcessing();
    this.clearTimer();
  }

  private toIdle(error?: string): void {
    this.clearTimer();
    this.download = null;
    if (error !== undefined) this.lastError = error;
    this.enter('idle', error);
  }

  private schedulePeriodicQuery(): void {
    this.queryTimer = this.scheduler.setTimer(this.spec.queryIntervalMs * this.timeScale, () => {
      this.queryTimer = null;
      if (this.state === 'idle') this.query();
      this.schedulePeriodicQuery();
    });
  }

  private sendOta(c: OtaCommand): void {
    const drop = this.quirks.dropEvery;
    if (drop && ++this.requests % drop === 0) return; // lost inside the client itself
    this.seq = (this.seq + 1) & 0xff;
    const h = { frameType: FRAME_TYPE_CLUSTER, direction: DIR_CLIENT_TO_SERVER, disableDefaultResponse: false, seq: this.seq, commandId: c.cmd };
    this.link.send(buildOtaFrame(h, c));
  }

  private enter(state: ClientState, error?: string): void {
    this.state = state;
    this.trace(error !== undefined ? { kind: 'state', state, error } : { kind: 'state', state });
    const s = this.status();
    const key = [s.state, s.fileVersion, s.heldVersion, s.lastError].join('|');
    if (key === this.reported) return;
    this.reported = key;
    if (this.opts.onChange) this.opts.onChange(s);
  }

  private trace(e: ClientEvent): void {
    if (this.opts.onEvent) this.opts.onEvent(e);
  }

  /** The client's one state timer (ms before scaling); setting it replaces the previous one. */
  private after(ms: number, fn: () => void): void {
    this.clearTimer();
    this.timer = this.scheduler.setTimer(ms * this.timeScale, () => {
      this.timer = null;
      fn();
    });
  }

  /** Frames still being processed are lost (power cut, hung stack, shutdown). */
  private dropProcessing(): void {
    for (const h of this.processing) this.scheduler.clearTimer(h);
    this.processing.clear();
  }

  private clearTimer(): void {
    if (this.timer !== null) this.scheduler.clearTimer(this.timer);
    this.timer = null;
  }
}

function sameImage(a: ImageId, b: ImageId): boolean {
  return a.manufacturerCode === b.manufacturerCode && a.imageType === b.imageType && a.fileVersion === b.fileVersion;
}

/** Whether an Upgrade End Response names this image, wildcards allowed. */
function matches(c: ImageId, id: ImageId): boolean {
  return (
    (c.manufacturerCode === ANY_MANUFACTURER || c.manufacturerCode === id.manufacturerCode) &&
    (c.imageType === ANY_IMAGE_TYPE || c.imageType === id.imageType) &&
    (c.fileVersion === ANY_VERSION || c.fileVersion === id.fileVersion)
  );
}
