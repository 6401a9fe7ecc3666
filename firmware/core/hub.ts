// The Comms Hub core: device log, images, transfer jobs, GBCS alerts and the ZigBee OTA server, driven
// by host-link frames, radio input and the time. No I/O and no clock of its own (DESIGN "Layers").
//
// Compact by construction (DESIGN "Footprint", FACTS §5): every table is a preallocated Float64Array of
// rows with column constants (const enums, free at run time); few methods; nothing allocated per radio
// frame (frames to devices are rows of what each is owed, built into one shared buffer when the radio
// can take them); numbers, not words, to the host (codes.ts). Errors are thrown as Err numbers.
import { DeviceType, Err, Ev, JobState, Log, Mode, Op } from './codes';
import { decodeBody, FrameReader, Item, w, wClose } from './wire';
import { ImageStore } from '../ports/image-store';
import { KeyValueStore } from '../ports/kv-store';
import { HUB_ENDPOINT, OTA_CLUSTER, Radio, RadioEv, RadioSink } from '../ports/radio';

export interface HubConfig {
  fw: string;
  board: string;
  mode: string; // 'stored' | 'streamed'
  /** Largest `img.data` chunk the host may send. */
  maxChunk: number;
  maxDevices: number;
  /** Unfinished transfer jobs held at once; job.start past it is FULL and starts nothing. */
  maxJobs: number;
  /** job.start is refused while this many alerts, counting those running jobs will raise, await the
   *  host's acknowledgement: alerts are never dropped (DESIGN). */
  maxAlerts: number;
  /** Images held (stored or streamed). */
  maxImages: number;
  /** Least time between two progress events for one job. */
  progressIntervalMs: number;
  /** Upload progress is made durable every this many bytes, so an interrupted upload resumes near there. */
  uploadCheckpointBytes: number;
  /** Finished jobs listed by job.list before the oldest are forgotten. */
  keepFinishedJobs: number;
  /** Streamed images are fetched from the host in ranges of this many bytes (a multiple of maxBlock)... */
  streamRangeBytes: number;
  /** ...and the hub holds at most this many ranges. */
  streamRanges: number;
  /** Least time between two lookups of one unknown network address (a device whose announce the hub missed). */
  lookupIntervalMs: number;
  /** Largest block the hub sends whatever the client asks (the APS payload limit with security, FACTS §3). */
  maxBlock: number;
  /** A transferring job fails with File Transfer Failure after this long without a request. */
  silenceTimeoutMs: number;
  /** How long to wait for a device to answer a version read. */
  versionReadTimeoutMs: number;
  /** Transfers served at once; more clients are told WAIT_FOR_DATA until a slot frees. */
  maxSessions: number;
  /** How long a client without a slot is asked to wait before asking again (seconds). */
  busyWaitS: number;
  /** Least time between two blocks for one client (0 = as fast as it asks). */
  minBlockPeriodMs: number;
  /** After an activation time, how long a device gets to reboot before the hub reads its version. */
  activationSettleMs: number;
  /** Frames sent but not yet confirmed by the co-processor. */
  radioWindow: number;
  /** A frame without an AF_DATA_CONFIRM after this long no longer counts as in flight. */
  confirmTimeoutMs: number;
  /** job.start must name the image's SHA-256 (the hash a GBCS command carries, FACTS §1), else NO_SHA256. */
  requireSha256: boolean;
}

// Plain numbers, no arithmetic: esbuild keeps an unused `16 * 1024` (it might have side effects).
export const DEFAULT_CONFIG: HubConfig = {
  fw: '0.1.0',
  board: 'node',
  mode: 'stored',
  maxChunk: 1024,
  maxDevices: 32,
  maxJobs: 32,
  maxAlerts: 256,
  maxImages: 8,
  progressIntervalMs: 500,
  uploadCheckpointBytes: 16384,
  keepFinishedJobs: 32,
  lookupIntervalMs: 30000,
  streamRangeBytes: 512,
  streamRanges: 20,
  maxBlock: 64,
  silenceTimeoutMs: 600000, // 10 min
  versionReadTimeoutMs: 15000,
  maxSessions: 10,
  busyWaitS: 30,
  minBlockPeriodMs: 0,
  activationSettleMs: 10000,
  // 2, not 4: on the simulated channel (make bench, event-driven CSMA-CA) 10 and 50 devices finish 2-3.5 %
  // sooner at 0 % and 10 % loss (391 against 401 s, 10 devices, 0 %, mean of 3 seeds), one device as fast.
  radioWindow: 2,
  confirmTimeoutMs: 3000,
  requireSha256: false,
};

/** Stored-image uploads (image-upload.ts): given only to hubs that store images, so a streamed board's
 *  bundle holds neither it nor the header parser. Returns nothing; writes its results with w(). */
export type Uploads = (h: Hub, op: number, a: Item[]) => void;

export interface HubPorts {
  /** Stored images' bytes (hubs that store images; with `uploads`). */
  images?: ImageStore;
  uploads?: Uploads;
  /** The hub's own firmware over the link (fw.begin/data/end), as `uploads`: boards with Storage for two
   *  copies (firmware/espruino/firmware-update.ts); absent: NO_FW_UPDATE. */
  firmware?: Uploads;
  kv: KeyValueStore;
  radio: Radio;
  /** One framed message for the host: a view of a shared buffer, to be written (or copied) at once. */
  sendHost(frame: Uint8Array): void;
  crc32(b: Uint8Array): number;
  /** Lends the host link's port to the REPL (boards whose console is on it); absent: NO_CONSOLE. */
  console?: { give(): void };
}

// ---- table columns (const enums: numbers at run time)

/** Config, copied into a Float64Array. */
export const enum K { Mode, MaxChunk, MaxDevices, MaxJobs, MaxAlerts, Images, Progress, Checkpoint, Keep, RangeBytes, Lookup, MaxBlock, Silence, VrTimeout, Sessions, BusyS, MinPeriod, Settle, ConfirmMs, Sha, Ranges, W }
/** Device log rows: type 0 is a free row. EUI-64s apart, 8 bytes a row, wire order. */
const enum D { Type, Nwk, Ep, Ver, Hw, Seen, VrDeadline, VrNext, VrCheck, Turn, W }
/**
 * Jobs (id 0: free row), with the session of the transfer: pacing, the page run, the activation check. A row
 * is W float64 cells (jb[o + J.Id], o = row * J.W) of which the last ones are int32 cells of the same bytes
 * (ji[2 * o + J.Dev]): times, the file version and byte offsets need 64 bits, the rest fit 32 (a row of 23
 * cells, not 31). A ledger whose job rows are another width is another layout: the one before this is
 * converted as it is read (JOB_CELLS_BEFORE), any other's jobs are not read back.
 */
const enum J {
  Id, Ver, Size, Off, PageOff, PageEnd, Started, Updated, Contact, Progress, LastBlock, Seen, PageAt, Activates, Due,
  Dev = 30, State, Code, Force, Mfr, Type, Img, MinPeriod, Asked, InSeconds, Admitted, PageMax, PageGap, PageSeq, Check, UpAt,
  W = 23,
}
/** The job rows' width before they had int32 cells: a ledger of that layout is converted as it is read. */
const JOB_CELLS_BEFORE = 31;
/** Alerts held, oldest first (id 0: free): 32-bit cells, the time in unix seconds, 0xFFFFFFFF for a field
 *  the alert does not carry (a reserved file version in the OTA spec). */
const enum A { Id, Code, Time, Ver, Resp, Act, W }
/** Images (size 0: free row). */
export const enum I { Size, Crc, Complete, Streamed, Next, Mfr, Type, Ver, MinHw, MaxHw, W }
/** Streamed ranges held (image -1: free) and ranges asked for. */
const enum R { Img, Off, Used, Served, Ahead, W }
const enum Q { Img, Off, At, Ahead, W }
/** Frames owed to devices, in order (kind 0: none). */
const enum O { Kind, Dev, Order, Seq, A, B, C, W }
const enum Owed { Notify = 1, Query, Block, Wait, Abort, End, Default, Read }
/** Ledger header. */
const enum L { NextJob, NextAlert, Jobs, Alerts, W }

// ZCL OTA cluster (OTA spec 095264r23; FACTS §2): commands and status codes.
const enum Zs { SUCCESS = 0, NOT_AUTHORIZED = 0x7e, MALFORMED = 0x80, UNSUP = 0x81, ABORT = 0x95, INVALID_IMAGE = 0x96, WAIT = 0x97, NO_IMAGE = 0x98 }
/** GBCS responseCode of 0x8F89/0x8F8A (FACTS §1). */
const enum Resp { OK = 0, DISCARDED = 1, HW_MISMATCH = 2, FAILURE = 3 }
/** GBCS alerts (FACTS §1, CCS08 / CS08). */
const enum Alert { FAILED = 0x8f89, SUCCEEDED = 0x8f8a, VERSION = 0x8f8b }

/** Images are named by at most this many characters, stored in the state files as bytes. */
const NAME_BYTES = 24;
/** Records per list reply (and devices per job.start): six of the largest, jobs (~81 bytes), fit MAX_REPLY. */
export const PAGE = 6;
/** Unknown network addresses looked up lately, and devices heard before they were listed. */
const STRANGERS = 4;
/** An address looked up in vain is looked up again at most this many lookupIntervalMs apart. */
const LOOKUP_BACKOFF = 32;
/** A range asked for and not here after this long is asked for again (the host may have missed it). */
const ASK_AGAIN_MS = 2000;
/** A range no client has come for in this long is given up. */
const UNCLAIMED_MS = 10000;
/** Version reads are sent this many times within versionReadTimeoutMs (lossy links). */
const VERSION_READ_TRIES = 3;
/** After an activation, a device still on its old version is told again and read again, this many
 *  times in all: under 30 % loss a single Upgrade End Response often never arrives. */
const ACTIVATION_CHECKS = 5;
/** A paced client whose next request comes this many times our period later read it as seconds (FACTS §2). */
const SECONDS_MISREAD = 500;
/** A client whose streamed range is on its way asks again after this many seconds. */
const STREAM_WAIT_S = 1;
/** Seconds between 1970 and 2000-01-01: ZigBee UTCTime (ZCL §2.6.2.19), which the hub reckons where it needs
 *  it as Math.floor((now + clock) / 1000) - ZIGBEE_EPOCH_S (a function for it would cost JsVars). */
const ZIGBEE_EPOCH_S = 946684800;
const UPGRADE_TIME_WAIT = 0xffffffff;
/** OTA client attribute CurrentFileVersion (OTA spec §6.7.2). */
const ATTR_CURRENT_FILE_VERSION = 2;

/** Little-endian unsigned of n ≤ 4 bytes at b[o]. */
export function le(b: Uint8Array, o: number, n: number): number {
  let v = 0;
  while (n--) v = v * 256 + b[o + n];
  return v;
}

/** Writes v as n ≤ 4 little-endian bytes at b[o]; returns the offset after them. */
function put(b: Uint8Array, o: number, v: number, n: number): number {
  for (let i = 0; i < n; i++) b[o + i] = Math.floor(v / Math.pow(256, i)) & 255;
  return o + n;
}

/** Whether the n bytes at a[o] are b's first n. */
function same(a: Uint8Array, o: number, b: Uint8Array, n: number): boolean {
  while (n--) if (a[o + n] !== b[n]) return false;
  return true;
}

export class Hub implements RadioSink {
  k: Int32Array;
  /** Firmware version and board name, for hello. */
  private fw: string;
  private bd: string;
  private dv: Float64Array;
  private de: Uint8Array;
  /** Ledger: jobs and alerts in one buffer, saved as one file so a reset never keeps one without the other. */
  private lg: Uint8Array;
  /** The device log's and the images' state-file buffers (their tables are views of them). */
  private db: Uint8Array;
  private ib: Uint8Array;
  private lh: Float64Array;
  private jb: Float64Array;
  /** The job rows' int32 cells (J). */
  private ji: Int32Array;
  private je: Uint8Array;
  private al: Uint32Array;
  private ae: Uint8Array;
  /** Image names of the jobs (kept in the ledger as bytes). */
  private jn: string[] = [];
  im: Float64Array;
  nm: string[] = [];
  /** Streamed images' ranges: [image, off, used, served, ahead] rows, their bytes, and the ranges asked of
   *  the host. Allocated while a streamed image is being served, so an idle hub holds none of them. */
  private rg: Float64Array | null = null;
  private rp: Uint8Array | null = null;
  private ak: Float64Array | null = null;
  private ow: Uint32Array;
  /** Strangers: [eui 8 bytes] and [nwk, when looked up] rows. */
  private se: Uint8Array;
  private sn: Float64Array;
  /** Frames on the radio: [handle, deadline] rows (handle -1: free). */
  private fl: Float64Array;
  /** The ZCL frame being built. */
  private zb: Uint8Array;
  /** The host link's frame reader (console-port.ts: input while it holds part of a frame is never a break). */
  readonly rd: FrameReader;
  private clock = 0;
  private seq = 0;
  /** The time of the input being handled (every entry point sets it), so inner methods need no parameter. */
  private now = 0;
  /** Core time at which tick() next has work (page blocks waiting for their spacing), or -1: set as page runs
   *  are served. It may be early (a run ended since), which costs a tick with nothing to do, never late. */
  wakeAt = -1;
  /** Owed frames leave in the order they were owed. */
  private order = 0;
  /** Error detail for the reply to the request being handled. */
  private ed: number[] = [];

  // The config object is read here and not kept (its named fields would hold tens of JsVars).
  constructor(readonly p: HubPorts, c: HubConfig) {
    this.fw = c.fw;
    this.bd = c.board;
    // 32-bit cells: every setting is a whole number below 2^31 (board-file.ts bounds them), and half the bytes.
    const k = (this.k = new Int32Array(K.W));
    k[K.Mode] = c.mode === 'streamed' ? Mode.Streamed : Mode.Stored;
    k[K.MaxChunk] = c.maxChunk;
    k[K.MaxDevices] = c.maxDevices;
    k[K.MaxJobs] = c.maxJobs;
    k[K.MaxAlerts] = c.maxAlerts;
    k[K.Images] = c.maxImages || 4;
    k[K.Progress] = c.progressIntervalMs;
    k[K.Checkpoint] = c.uploadCheckpointBytes;
    k[K.Keep] = c.keepFinishedJobs;
    k[K.RangeBytes] = c.streamRangeBytes;
    k[K.Lookup] = c.lookupIntervalMs;
    k[K.MaxBlock] = c.maxBlock;
    k[K.Silence] = c.silenceTimeoutMs;
    k[K.VrTimeout] = c.versionReadTimeoutMs;
    k[K.Sessions] = c.maxSessions;
    k[K.BusyS] = c.busyWaitS;
    k[K.MinPeriod] = c.minBlockPeriodMs;
    k[K.Settle] = c.activationSettleMs;
    k[K.ConfirmMs] = c.confirmTimeoutMs;
    k[K.Sha] = c.requireSha256 ? 1 : 0;
    const nd = c.maxDevices;
    // Each table lives in the buffer of its state file, so saving it writes that buffer and copies nothing: [rows
    // u32, width u32], rows × width float64 cells, then each row's bytes. (Written out three times: a function
    // costs JsVars for as long as the hub runs, and one made in here would hold this scope until a GC.)
    const db = (this.db = new Uint8Array(8 + nd * (D.W * 8 + 8)));
    put(db, put(db, 0, nd, 4), D.W, 4);
    this.dv = new Float64Array(db.buffer, 8, nd * D.W);
    this.de = new Uint8Array(db.buffer, 8 + nd * D.W * 8, nd * 8);
    // A job row for each transfer held and each finished job kept: job.start leaves a row free or finished.
    const nj = c.maxJobs + c.keepFinishedJobs;
    // Alerts: the cap on job.start, and room for version reads (refused with FULL beyond it).
    const na = c.maxAlerts + 2;
    // The ledger is one row of all its cells (header, jobs, alerts), then the jobs' EUI-64s and image
    // names and the alerts' EUI-64s.
    const f = 8 + 8 * (L.W + nj * J.W) + 4 * na * A.W;
    const lg = (this.lg = new Uint8Array(f + nj * (8 + NAME_BYTES) + na * 8));
    put(lg, put(lg, 0, 1, 4), L.W + nj * J.W, 4);
    this.lh = new Float64Array(lg.buffer, 8, L.W);
    this.jb = new Float64Array(lg.buffer, 8 + 8 * L.W, nj * J.W);
    this.ji = new Int32Array(lg.buffer, 8 + 8 * L.W, nj * J.W * 2);
    this.al = new Uint32Array(lg.buffer, 8 + 8 * (L.W + nj * J.W), na * A.W);
    this.je = new Uint8Array(lg.buffer, f, nj * 8);
    this.ae = new Uint8Array(lg.buffer, f + nj * (8 + NAME_BYTES), na * 8);
    const ni = k[K.Images];
    const ib = (this.ib = new Uint8Array(8 + ni * (I.W * 8 + NAME_BYTES)));
    put(ib, put(ib, 0, ni, 4), I.W, 4);
    this.im = new Float64Array(ib.buffer, 8, ni * I.W);
    k[K.Ranges] = c.streamRanges;
    // A row per device and stranger: a client has one request out at a time (page runs are served a block at
    // a time), so even every device asking at once (all rejoining after a power cut) drops no answer.
    // 32-bit cells: a stranger's -1 - nwk reads back signed with `| 0`.
    this.ow = new Uint32Array((nd + STRANGERS) * O.W);
    this.se = new Uint8Array(STRANGERS * 8);
    this.sn = new Float64Array(2 * STRANGERS + 3 * STRANGERS);
    this.fl = new Float64Array(c.radioWindow * 2);
    this.zb = new Uint8Array(c.maxBlock + 24);
    this.rd = new FrameReader(this.p.crc32);
    this.sn.fill(-1);
    this.fl.fill(-1);
    this.lh[L.NextJob] = this.lh[L.NextAlert] = 1;
    // The header says the layout, so a build with other capacities reads the ledger back.
    this.lh[L.Jobs] = nj;
    this.lh[L.Alerts] = na;
    // State from the store: tables saved by this build or one with other capacities (rows copied as fit).
    const kv = this.p.kv;
    const n = this.k[K.Images];
    for (let t = 0; t < 3; t++) {
      const b = kv.get(['devices', 'images', 'ledger'][t]);
      if (!b || b.length < 16) continue;
      // A file: [rows, width] then the rows, then each row's bytes.
      const rows = le(b, 0, 4);
      const wd = le(b, 4, 4);
      // Not a table file (an older firmware's JSON state, say): left alone rather than misread.
      if (!rows || !wd || 8 + rows * wd * 8 > b.length) continue;
      // Copied: ArrayBuffer#slice is missing on Espruino (FACTS §5), and the rows must be 8-byte aligned.
      const tb = new Float64Array(rows * wd);
      new Uint8Array(tb.buffer).set(b.subarray(8, 8 + rows * wd * 8));
      const bytes = b.subarray(8 + rows * wd * 8);
      if (t === 0) {
        for (let r = 0; r < rows && r < this.k[K.MaxDevices]; r++) {
          this.dv.set(tb.subarray(r * wd, r * wd + D.W), r * D.W);
          this.de.set(bytes.subarray(r * 8, r * 8 + 8), r * 8);
        }
      } else if (t === 1) {
        for (let r = 0; r < rows && r < n; r++) {
          this.im.set(tb.subarray(r * wd, r * wd + I.W), r * I.W);
          this.nm[r] = this.text(bytes, r * NAME_BYTES);
        }
      } else {
        // The ledger is saved whole; one of another layout is read by its header.
        const jr = tb[L.Jobs];
        const ar = tb[L.Alerts];
        this.lh[L.NextJob] = tb[L.NextJob];
        this.lh[L.NextAlert] = tb[L.NextAlert];
        const jw = (wd - L.W) / jr;
        // The alerts' cells lead the bytes, then the jobs' EUI-64s and names, then the alerts' EUI-64s.
        const ab = new Uint32Array(ar * A.W);
        new Uint8Array(ab.buffer).set(bytes.subarray(0, ar * A.W * 4));
        const e = ar * A.W * 4;
        // Job rows of this layout are copied as bytes (the int32 cells are no float64s); the layout before it
        // (JOB_CELLS_BEFORE float64 cells, its fields in this order) field by field, so a firmware update from
        // it keeps its jobs; any other width's jobs are not read (their alerts are).
        const was = jw === JOB_CELLS_BEFORE ? [J.Id, J.Dev, J.State, J.Off, J.Size, J.Code, J.Force, J.Started, J.Updated, J.Contact, J.Mfr, J.Type, J.Ver, J.Img, J.Progress, J.MinPeriod, J.LastBlock, J.Seen, J.Asked, J.InSeconds, J.Admitted, J.PageOff, J.PageEnd, J.PageMax, J.PageGap, J.PageAt, J.PageSeq, J.Activates, J.Due, J.Check, J.UpAt] : null;
        for (let r = 0, m = 0, o = L.W; r < jr; r++, o += jw) {
          if ((jw !== J.W && !was) || !tb[o + J.Id] || m * J.W >= this.jb.length) continue;
          if (!was) new Uint8Array(this.jb.buffer, this.jb.byteOffset + m * J.W * 8, J.W * 8).set(new Uint8Array(tb.buffer, o * 8, J.W * 8));
          else
            for (let c = 0; c < jw; c++) {
              if (was[c] < J.Dev) this.jb[m * J.W + was[c]] = tb[o + c];
              else this.ji[2 * m * J.W + was[c]] = tb[o + c];
            }
          this.je.set(bytes.subarray(e + r * 8, e + r * 8 + 8), m * 8);
          this.jn[m++] = this.text(bytes, e + jr * 8 + r * NAME_BYTES);
        }
        for (let r = 0, m = 0, o = 0; r < ar; r++, o += A.W) {
          if (!ab[o + A.Id] || m * A.W >= this.al.length) continue;
          this.al.set(ab.subarray(o, o + A.W), m * A.W);
          this.ae.set(bytes.subarray(e + jr * (8 + NAME_BYTES) + r * 8, e + jr * (8 + NAME_BYTES) + r * 8 + 8), m * 8);
          m++;
        }
      }
    }
  }

  /** A NAME_BYTES field of ASCII text: written from `s` (zero-filled), or without `s` read up to its first 0. */
  private text(b: Uint8Array, o: number, s?: string): string {
    let e = o;
    if (s !== undefined) for (let i = 0; i < NAME_BYTES; i++) b[o + i] = i < s.length ? s.charCodeAt(i) : 0;
    else while (e < o + NAME_BYTES && b[e]) e++;
    return s !== undefined ? s : String.fromCharCode.apply(null, b.subarray(o, e) as unknown as number[]);
  }

  /** Makes one table durable: devices (0), images (1) or the ledger of jobs and alerts (2). */
  save(t: number): void {
    if (t === 1) for (let r = 0; r < this.k[K.Images]; r++) this.text(this.ib, 8 + this.im.length * 8 + r * NAME_BYTES, this.nm[r] || '');
    if (t === 2) {
      const jr = this.lh[L.Jobs];
      for (let r = 0; r < jr; r++) this.text(this.lg, 8 + (this.lh.length + this.jb.length) * 8 + this.al.length * 4 + jr * 8 + r * NAME_BYTES, this.jn[r] || '');
    }
    this.p.kv.set(t === 0 ? 'devices' : t === 1 ? 'images' : 'ledger', t === 0 ? this.db : t === 1 ? this.ib : this.lg);
  }

  start(now: number): void {
    this.now = now;
    // After a restart silence is counted from now, and activations still pending get their version read.
    const jb = this.jb;
    const ji = this.ji;
    for (let o = 0; o < jb.length; o += J.W) {
      if (!jb[o + J.Id]) continue;
      if (ji[2 * o + J.State] === JobState.Transferring) jb[o + J.Contact] = now;
      if (ji[2 * o + J.State] === JobState.Activating) {
        jb[o + J.Activates] = now;
        jb[o + J.Due] = now + this.k[K.Settle];
        ji[2 * o + J.Check] = 0;
      }
      jb[o + J.PageEnd] = 0;
      ji[2 * o + J.Admitted] = 0;
      jb[o + J.LastBlock] = -1;
    }
    this.p.radio.tick(now);
  }

  /** Bytes from the host: each whole frame is a request, answered at once. */
  host(chunk: Uint8Array, now: number): void {
    this.now = now;
    const bodies = this.rd.push(chunk);
    for (let n = 0; n < bodies.length; n++) {
      const a = decodeBody(bodies[n]);
      if (!a || typeof a[0] !== 'number' || typeof a[1] !== 'number') continue;
      this.ed = [];
      try {
        this.ok(a);
        this.req(a);
        this.out(a[0] as number);
        if (a[1] === Op.Console) (this.p.console as { give(): void }).give();
      } catch (e) {
        w(a[0], 1);
        w(typeof e === 'number' ? e : Err.INTERNAL);
        for (let i = 0; i < this.ed.length; i++) w(this.ed[i]);
        this.out(0);
      }
    }
    this.pump();
  }

  /** Starts the reply to request a: [i, 0, ...results]. A request whose work sends an event (which takes
   *  the one message buffer) starts it again after that work. */
  ok(a: Item[]): void {
    w(a[0], 1);
    w(0);
  }

  /** Sends the message written since its first item; a reply too big for a frame becomes TOO_BIG (for request i). */
  out(i: number): void {
    let f = wClose(this.p.crc32);
    if (!f && i) {
      w(i, 1);
      w(Err.TOO_BIG);
      f = wClose(this.p.crc32);
    }
    if (f) this.p.sendHost(f);
  }

  /** Throws an error code with its detail (a rest parameter: one JsVar for the function, however many). */
  no(code: number, ...detail: number[]): never {
    this.ed = detail;
    throw code;
  }

  /** Argument k of a request (k = 0 first after op), checked: t 0 natural number, 1 text, 2 bytes, 3 EUI-64; null if absent and `opt`. */
  arg(a: Item[], k: number, t: number, opt?: boolean): any {
    const v = a[k + 2];
    if (opt && (v === null || v === undefined)) return null;
    if (t === 0 ? typeof v === 'number' : t === 1 ? typeof v === 'string' : v instanceof Uint8Array && (t === 2 || v.length === 8)) return v;
    return this.no(t === 3 && v instanceof Uint8Array ? Err.BAD_EUI : Err.BAD_ARGS, k);
  }

  /** One request (docs/host-link.md); its results are written after [i, 0]. */
  private req(a: Item[]): void {
    const now = this.now;
    const k = this.k;
    const op = a[1] as number;
    // Alerts held: what job.start and version.read have room for (counted only for them).
    let held = 0;
    if (op === Op.JobStart || op === Op.VersionRead) for (let o = 0; o < this.al.length; o += A.W) if (this.al[o]) held++;
    if (op === Op.Hello) {
      const t = this.arg(a, 0, 0, true);
      if (t !== null) this.clock = t - now;
      w(this.fw);
      w(this.bd);
      w(k[K.Mode]);
      w(now + this.clock);
      w(k[K.MaxChunk]);
      w(k[K.MaxJobs]);
      w(k[K.MaxAlerts]);
    } else if (op === Op.DevAdd) {
      const e = this.arg(a, 0, 3);
      const ty = this.arg(a, 1, 0);
      if (ty !== DeviceType.PPMID && ty !== DeviceType.HCALCS) this.no(Err.BAD_TYPE);
      let d = this.dev(e, 0);
      if (d < 0) {
        d = this.dev(null, 0);
        if (d < 0) this.no(Err.LOG_FULL, k[K.MaxDevices]);
        const o = d * D.W;
        this.dv.fill(-1, o, o + D.W);
        this.de.set(e, d * 8);
        // A device heard before it was listed is bound now: it will not announce again until it rejoins.
        for (let s = 0; s < STRANGERS; s++)
          if (this.sn[s * 2] >= 0 && same(this.se, s * 8, e, 8)) {
            this.dv[o + D.Nwk] = this.sn[s * 2];
            this.dv[o + D.Seen] = now;
            this.dv[o + D.Ep] = HUB_ENDPOINT;
            this.sn[s * 2] = -1;
          }
      }
      this.dv[d * D.W + D.Type] = ty;
      this.save(0);
      this.rec(0, d);
    } else if (op === Op.DevRm) {
      const d = this.dev(this.arg(a, 0, 3), 1);
      if (this.job(d, 0) >= 0) this.no(Err.BUSY);
      this.dv[d * D.W] = 0;
      // Its finished jobs keep its EUI-64, not its row, which the next device may take.
      for (let o = 0; o < this.jb.length; o += J.W) if (this.ji[2 * o + J.Dev] === d) this.ji[2 * o + J.Dev] = -1;
      this.save(0);
      this.save(2);
    } else if (op === Op.DevList || op === Op.ImgList || op === Op.JobList || op === Op.AlertList) {
      // A page of records from index `from`; `more` is where the next page starts.
      const kind = op === Op.DevList ? 0 : op === Op.ImgList ? 1 : op === Op.JobList ? 2 : 3;
      const t = [this.dv, this.im, this.jb, this.al][kind];
      const wd = [D.W, I.W, J.W, A.W][kind];
      const from = this.arg(a, 0, 0, true) || 0;
      let n = 0;
      for (let o = 0; o < t.length; o += wd) if (t[o]) n++;
      w(from + PAGE < n ? from + PAGE : null);
      // Each next used row: jobs by id (oldest first, as rows are reused), the rest in table order.
      for (let i = 0, last = 0; i < n && i < from + PAGE; i++) {
        let row = -1;
        let best = 0;
        for (let o = 0; o < t.length; o += wd) {
          const key = kind === 2 ? t[o] : o / wd + 1;
          if (t[o] && key > last && (row < 0 || key < best)) {
            row = o / wd;
            best = key;
          }
        }
        last = best;
        if (i >= from) this.rec(kind, row);
      }
    } else if (op === Op.ImgBegin || op === Op.ImgData || op === Op.ImgEnd) {
      if (!this.p.uploads) this.no(Err.NOT_STORED);
      (this.p.uploads as Uploads)(this, op, a);
    } else if (op === Op.FwBegin || op === Op.FwData || op === Op.FwEnd) {
      if (!this.p.firmware) this.no(Err.NO_FW_UPDATE);
      (this.p.firmware as Uploads)(this, op, a);
    } else if (op === Op.ImgStream) {
      const name = this.arg(a, 0, 1);
      const size = this.arg(a, 1, 0);
      this.named(name, size);
      let g = this.img(name, 0);
      const o = g * I.W;
      if (g >= 0 && !this.im[o + I.Streamed]) this.no(Err.EXISTS, 0);
      const crc = this.arg(a, 2, 0) >>> 0;
      // The same image again is a no-op (a host serving it after a restart); other content replaces it.
      if (g < 0 || this.im[o + I.Size] !== size || this.im[o + I.Crc] !== crc) {
        if (g >= 0 && this.inUse(g)) this.no(Err.IN_USE);
        if (g >= 0) this.drop(g);
        else g = this.newImg(name);
        const im = this.im;
        const r = g * I.W;
        im[r + I.Size] = size;
        im[r + I.Crc] = crc;
        im[r + I.Complete] = im[r + I.Streamed] = 1;
        im[r + I.Next] = size;
        im[r + I.Mfr] = this.arg(a, 3, 0);
        im[r + I.Type] = this.arg(a, 4, 0);
        im[r + I.Ver] = this.arg(a, 5, 0);
        const lo = this.arg(a, 6, 0, true);
        const hi = this.arg(a, 7, 0, true);
        im[r + I.MinHw] = lo === null ? -1 : lo;
        im[r + I.MaxHw] = hi === null ? -1 : hi;
        this.save(1);
      }
      this.rec(1, g);
    } else if (op === Op.ImgRange) {
      const g = this.img(this.arg(a, 0, 1), 0);
      if (g < 0 || !this.im[g * I.W + I.Streamed]) this.no(Err.UNKNOWN_IMAGE);
      // A range from the host: on a range boundary, to the next one (or the image's end).
      const off = this.arg(a, 1, 0);
      const d: Uint8Array = this.arg(a, 2, 2);
      const rb = this.k[K.RangeBytes];
      const size = this.im[g * I.W + I.Size];
      if (off % rb !== 0 || off >= size || d.length !== Math.min(rb, size - off)) this.no(Err.BAD_RANGE, rb, off, d.length);
      const ak = this.ak;
      // None asked for (its image's transfers are over): dropped.
      if (!ak) return;
      let ahead = 0;
      for (let o = 0; o < ak.length; o += Q.W)
        if (ak[o] === g && ak[o + Q.Off] === off) {
          ahead = ak[o + Q.Ahead];
          ak[o] = -1;
        }
      if (this.want(g, off, 1, 0) >= 0) return;
      // No room (every range still awaited by a client): dropped, and asked for again when its client is back.
      const s = this.slot(ahead ? 0 : 1);
      if (s < 0) return;
      (this.rp as Uint8Array).set(d, s * rb);
      const rg = this.rg as Float64Array;
      const r = s * R.W;
      rg[r] = g;
      rg[r + R.Off] = off;
      rg[r + R.Used] = now;
      rg[r + R.Served] = 0;
      rg[r + R.Ahead] = ahead;
    } else if (op === Op.ImgRm) {
      const g = this.img(this.arg(a, 0, 1), 0);
      if (g < 0) this.no(Err.UNKNOWN_IMAGE);
      if (this.inUse(g)) this.no(Err.IN_USE);
      this.discard(g);
    } else if (op === Op.JobStart) {
      const g = this.img(this.arg(a, 0, 1), 1);
      const force = this.arg(a, 1, 0);
      // The SHA-256 the job names for the image (32 bytes), or null.
      const h = this.arg(a, 2, 2, true);
      if (h && h.length !== 32) this.no(Err.BAD_ARGS, 2);
      if (!h && k[K.Sha]) this.no(Err.NO_SHA256);
      const n = a.length - 5;
      if (n < 1) this.no(Err.BAD_ARGS, 3);
      // The reply lists every job started, and must fit one frame.
      if (n > PAGE) this.no(Err.TOO_MANY, PAGE);
      let running = 0;
      const jb = this.jb;
      const ji = this.ji;
      for (let o = 0; o < jb.length; o += J.W) if (jb[o] && ji[2 * o + J.State] < JobState.Done) running++;
      // All or none: a refused job.start starts nothing, so the host can simply ask again later.
      const room = Math.min(k[K.MaxJobs], k[K.MaxAlerts] - held) - running;
      if (n > room) this.no(Err.JOBS_FULL, Math.max(room, 0), running, held);
      const ds: number[] = [];
      const js: number[] = [];
      for (let i = 0; i < n; i++) {
        const d = this.dev(this.arg(a, 3 + i, 3), 1);
        if (this.job(d, 0) >= 0 || ds.indexOf(d) >= 0) this.no(Err.BUSY);
        ds.push(d);
      }
      // A stored image that is not what the job names is never offered (a streamed one the host checked: it
      // serves every byte). Hashed only once nothing refuses the request.
      const bad = h && this.im[g * I.W + I.Streamed] !== 1 && !same((this.p.images as ImageStore).sha256(this.nm[g]), 0, h, 32);
      for (let i = 0; i < n; i++) {
        // A free row; the oldest finished job past keepFinishedJobs gives its row up.
        let free = -1;
        let oldest = -1;
        let finished = 0;
        for (let o = 0; o < jb.length; o += J.W) {
          if (!jb[o]) free = o / J.W;
          else if (ji[2 * o + J.State] >= JobState.Done) {
            finished++;
            if (oldest < 0 || jb[o] < jb[oldest * J.W]) oldest = o / J.W;
          }
        }
        const j = free >= 0 && finished <= k[K.Keep] ? free : oldest >= 0 ? oldest : free;
        const o = j * J.W;
        const im = this.im;
        jb.fill(0, o, o + J.W);
        jb[o] = this.lh[L.NextJob]++;
        ji[2 * o + J.State] = JobState.Queued;
        jb[o + J.Size] = im[g * I.W + I.Size];
        ji[2 * o + J.Code] = -1;
        ji[2 * o + J.Force] = force ? 1 : 0;
        jb[o + J.Started] = jb[o + J.Updated] = jb[o + J.Contact] = now;
        ji[2 * o + J.Mfr] = im[g * I.W + I.Mfr];
        ji[2 * o + J.Type] = im[g * I.W + I.Type];
        jb[o + J.Ver] = im[g * I.W + I.Ver];
        ji[2 * o + J.Img] = g;
        ji[2 * o + J.Dev] = ds[i];
        jb[o + J.Progress] = jb[o + J.LastBlock] = jb[o + J.Activates] = -1;
        this.je.set(this.de.subarray(ds[i] * 8, ds[i] * 8 + 8), j * 8);
        this.jn[j] = this.nm[g];
        js.push(j);
      }
      // Failed only once every row is taken: a finished job's row may be given to the next one.
      for (let i = 0; i < n; i++)
        if (bad) this.state(js[i], JobState.Failed, Resp.DISCARDED);
        else if (this.dv[ds[i] * D.W + D.Nwk] >= 0) this.owe(Owed.Notify, ds[i], -1, 0, 0, 0);
      // The failures' events took the message buffer: the reply starts again.
      this.ok(a);
      for (let i = 0; i < n; i++) this.rec(2, js[i]);
      this.save(2);
    } else if (op === Op.AlertAck) {
      let n = 0;
      for (let i = 2; i < a.length; i++) {
        const al = this.al;
        for (let o = 0; o < al.length; o += A.W)
          if (al[o] && al[o] === a[i]) {
            // Held alerts stay in order, oldest first: the rest move up a row.
            const r = o / A.W;
            al.set(al.subarray(o + A.W), o);
            al[al.length - A.W] = 0;
            this.ae.set(this.ae.subarray(r * 8 + 8), r * 8);
            n++;
            break;
          }
      }
      this.save(2);
      w(n);
    } else if (op === Op.Activate) {
      const d = this.dev(this.arg(a, 0, 3), 2);
      const j = this.job(d, 2);
      if (j < 0) this.no(Err.NOTHING_HELD);
      // Tells the device holding the image (an HCALCS) to activate it at `at` (unix ms; now if not later)...
      const at = this.arg(a, 1, 0, true);
      const cur = Math.floor((this.now + this.clock) / 1000) - ZIGBEE_EPOCH_S;
      const up = Math.max(cur, Math.floor((at === null ? now + this.clock : at) / 1000) - ZIGBEE_EPOCH_S);
      this.state(j, JobState.Activating);
      this.ji[2 * j * J.W + J.UpAt] = up;
      this.owe(Owed.End, d, -1, j, cur, up);
      // ...and reads its version once it has had time to reboot into it (GBCS: 0x8F8B after activation).
      const o = j * J.W;
      this.jb[o + J.Activates] = now + (up - cur) * 1000;
      this.jb[o + J.Due] = this.jb[o + J.Activates] + k[K.Settle];
      this.ji[2 * o + J.Check] = 0;
      this.ok(a);
      this.rec(2, j);
    } else if (op === Op.JobCancel) {
      const id = this.arg(a, 0, 0);
      let j = -1;
      for (let o = 0; o < this.jb.length; o += J.W) if (this.jb[o] === id) j = o / J.W;
      if (j < 0) this.no(Err.UNKNOWN_JOB);
      const o = j * J.W;
      const s = this.ji[2 * o + J.State];
      if (s >= JobState.Done) this.no(Err.JOB_OVER, s);
      // Nothing more goes to its device: what was owed to it (its page run's blocks among it) is dropped.
      for (let p = 0; p < this.ow.length; p += O.W) if (this.ow[p + O.Dev] === this.ji[2 * o + J.Dev]) this.ow[p] = 0;
      // A transfer cut short fails like any other (0x8F89 File Transfer Failure: every transfer ends in an
      // alert); one already alerted as transferred only stops waiting for its activation.
      this.jb[o + J.Activates] = -1;
      if (s < JobState.Transferred) this.state(j, JobState.Failed, Resp.FAILURE);
      else this.state(j, JobState.Done);
      this.ok(a);
      this.rec(2, j);
    } else if (op === Op.VersionRead) {
      const d = this.dev(this.arg(a, 0, 3), 2);
      // An alert will come of it, and alerts are never dropped: refused while no alert could be held.
      if (held >= this.al.length / A.W - 1) this.no(Err.JOBS_FULL, 0, 0, held);
      this.readVersion(d, -1);
    } else if (op === Op.Console) {
      if (!this.p.console) this.no(Err.NO_CONSOLE);
    } else this.no(Err.BAD_OP, op);
  }

  /** A new image's name and size, or BAD_NAME / BAD_SIZE. */
  named(name: string, size: number): void {
    let ok = name.length > 0 && name.length <= NAME_BYTES;
    for (let i = 0; ok && i < name.length; i++) {
      const c = name.charCodeAt(i);
      ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 46 || c === 95 || c === 45;
    }
    if (!ok) this.no(Err.BAD_NAME);
    if (!(size > 0)) this.no(Err.BAD_SIZE);
  }

  /** The image row named `name` (-1 if none; with `complete`, only a complete one, else UNKNOWN_IMAGE). */
  img(name: string, complete: number): number {
    for (let g = 0; g < this.nm.length; g++)
      if (this.im[g * I.W + I.Size] && this.nm[g] === name) {
        if (!complete || this.im[g * I.W + I.Complete]) return g;
        break;
      }
    return complete ? this.no(Err.UNKNOWN_IMAGE) : -1;
  }

  /** A free image row for `name`, or FULL. */
  newImg(name: string): number {
    for (let g = 0; g < this.k[K.Images]; g++)
      if (!this.im[g * I.W + I.Size]) {
        this.im.fill(-1, g * I.W, g * I.W + I.W);
        this.nm[g] = name;
        return g;
      }
    return this.no(Err.STORE_FULL, 0, 0);
  }

  /** Forgets an image and frees its bytes. */
  discard(g: number): void {
    if (this.im[g * I.W + I.Streamed] === 1) this.drop(g);
    else (this.p.images as ImageStore).remove(this.nm[g]);
    this.im[g * I.W + I.Size] = 0;
    this.save(1);
  }

  /** Whether an unfinished job uses image g; with `fetching`, only one still to fetch it. */
  private inUse(g: number, fetching?: boolean): boolean {
    const jb = this.jb;
    const ji = this.ji;
    for (let o = 0; o < jb.length; o += J.W)
      if (jb[o] && ji[2 * o + J.Img] === g && ji[2 * o + J.State] <= (fetching ? JobState.Transferring : JobState.Activating)) return true;
    return false;
  }

  /**
   * The device row with EUI-64 `e` (bytes), or with `e` null the first free row; -1 if none. With
   * `must`, an unknown device is UNKNOWN_DEVICE, and with `must` 2 one that has not joined is NOT_JOINED.
   */
  private dev(e: Uint8Array | null, must: number): number {
    const dv = this.dv;
    for (let d = 0; d * D.W < dv.length; d++)
      if (e ? dv[d * D.W] && same(this.de, d * 8, e, 8) : !dv[d * D.W]) return must > 1 && dv[d * D.W + D.Nwk] < 0 ? this.no(Err.NOT_JOINED) : d;
    return must ? this.no(Err.UNKNOWN_DEVICE) : -1;
  }

  /** The device's job: `which` 0 unfinished, 1 latest, 2 holding an image for activation; -1 if none. */
  private job(d: number, which: number): number {
    const jb = this.jb;
    const ji = this.ji;
    let best = -1;
    for (let o = 0; o < jb.length; o += J.W) {
      if (!jb[o] || ji[2 * o + J.Dev] !== d) continue;
      const s = ji[2 * o + J.State];
      if (which === 0 ? s < JobState.Done : which === 2 ? s === JobState.Transferred || s === JobState.Activating : true)
        if (best < 0 || jb[o] > jb[best * J.W]) best = o / J.W;
    }
    return best;
  }

  // ---- radio

  /** What the radio driver heard (RadioSink). */
  radio(ev: number, a: number, b: number, data: Uint8Array | null, now: number): void {
    this.now = now;
    if (ev === RadioEv.Message) {
      if (b >> 8 === OTA_CLUSTER) this.ota(a, b & 255, data as Uint8Array);
    } else if (ev === RadioEv.Confirm) {
      const fl = this.fl;
      for (let i = 0; i < fl.length; i += 2) if (fl[i] === a) fl[i] = -1;
      if (b) this.log(Log.NOT_DELIVERED, a, b);
    } else if (ev === RadioEv.Announce || ev === RadioEv.Address) {
      // A device is at `a`: a listed one is bound there and told of an image waiting for it; another is
      // remembered for when it is added.
      const e = data as Uint8Array;
      const d = this.dev(e, 0);
      if (d < 0) {
        let s = 0;
        while (s < STRANGERS - 1 && this.sn[s * 2] >= 0 && !same(this.se, s * 8, e, 8)) s++;
        this.se.set(e, s * 8);
        this.sn[s * 2] = a;
        this.log(Log.UNLISTED, e, a);
        return;
      }
      const dv = this.dv;
      // Another device that held the address has left it.
      for (let o = 0; o < dv.length; o += D.W) if (dv[o + D.Nwk] === a) dv[o + D.Nwk] = -1;
      dv[d * D.W + D.Nwk] = a;
      dv[d * D.W + D.Seen] = now;
      if (dv[d * D.W + D.Ep] < 0) dv[d * D.W + D.Ep] = HUB_ENDPOINT;
      this.save(0);
      const j = this.job(d, 0);
      if (j >= 0 && this.ji[2 * j * J.W + J.State] === JobState.Queued) this.owe(Owed.Notify, d, -1, 0, 0, 0);
      // A rejoin after the activation time means it has rebooted into its new image: read it now.
      if (ev === RadioEv.Announce && j >= 0 && this.jb[j * J.W + J.Activates] >= 0 && now >= this.jb[j * J.W + J.Activates]) {
        // It rejoined after its activation time: its version is read now.
        this.jb[j * J.W + J.Activates] = -1;
        this.readVersion(d, this.ji[2 * j * J.W + J.Check]);
      }
    } else if (ev === RadioEv.Reset) this.log(Log.RADIO_RESET, b);
    else if (ev === RadioEv.Error) this.log(Log.RADIO_ERROR, a, b);
  }

  /** Bytes from the co-processor: what they mean comes back through radio(). */
  radioBytes(b: Uint8Array, now: number): void {
    this.now = now;
    this.p.radio.onBytes(b, now);
    this.pump();
  }

  /** A frame on the OTA cluster from network address `nwk` (ZCL header, ZCL §2.4; OTA commands, FACTS §2). */
  private ota(nwk: number, ep: number, z: Uint8Array): void {
    const now = this.now;
    const fc = z[0];
    const h = fc & 4 ? 5 : 3; // a manufacturer code after the frame control
    if (z.length < h || (fc & 3) > 1) return this.log(Log.MALFORMED_ZCL, nwk);
    const seq = z[h - 2];
    const cmd = z[h - 1];
    const n = z.length - h;
    const global = (fc & 3) === 0;
    const dv = this.dv;
    let d = -1;
    for (let o = 0; o < dv.length; o += D.W) if (dv[o] && dv[o + D.Nwk] === nwk) d = o / D.W;
    if (d < 0) {
      // Not in the device log: NOT_AUTHORIZED and nothing else (GBCS Device Log).
      this.log(Log.NOT_AUTHORIZED, nwk, cmd);
      // Who is it? Asked (ZDO IEEE_addr_req), as real coordinators learn addresses, unless a stranger known
      // by its EUI-64: after lookupIntervalMs, then twice as long each time it asks again unanswered, up to
      // LOOKUP_BACKOFF times that. Rows [nwk, next, gap]; recorded only when the driver took the request.
      const sn = this.sn;
      let row = -1;
      for (let i = 0; i < 2 * STRANGERS; i += 2) if (sn[i] === nwk) row = -2;
      for (let i = 2 * STRANGERS; row > -2 && i < sn.length; i += 3)
        if (sn[i] === nwk) row = i;
        else if (row < 0 ? sn[i] < 0 || sn[i + 1] <= now : sn[row] !== nwk && sn[i + 1] < sn[row + 1]) row = i;
      const again = row >= 0 && sn[row] === nwk;
      if (row >= 0 && (!again || now >= sn[row + 1]) && this.p.radio.lookup(nwk, now) === 0) {
        const gap = again ? Math.min(sn[row + 2] * 2, this.k[K.Lookup] * LOOKUP_BACKOFF) : this.k[K.Lookup];
        sn[row] = nwk;
        sn[row + 1] = now + gap;
        sn[row + 2] = gap;
      }
      if (fc & 8) return; // never answer a response
      return this.owe(global || cmd !== 1 ? Owed.Default : Owed.Query, -1 - nwk, seq, global || cmd !== 1 ? cmd : Zs.NOT_AUTHORIZED, Zs.NOT_AUTHORIZED, ep);
    }
    const o = d * D.W;
    dv[o + D.Ep] = ep;
    dv[o + D.Seen] = now;
    if (global) {
      // Default Responses need no answer. A Read Attributes Response (0x01, ZCL §2.5.2): records of
      // attribute id u16, status u8, [type u8, value]; the version asked for is among them.
      if (cmd === 1)
        for (let p = h; p + 3 <= z.length; ) {
          const id = le(z, p, 2);
          const st = z[p + 2];
          // uint8/16/32 (0x20/0x21/0x23) are what a version can be; others cannot be skipped safely.
          const len = st ? 0 : z[p + 3] === 0x20 ? 1 : z[p + 3] === 0x21 ? 2 : z[p + 3] === 0x23 ? 4 : -1;
          if (len < 0 || p + 4 + len > z.length + (st ? 1 : 0)) return this.log(Log.MALFORMED_READ, this.de.subarray(d * 8, d * 8 + 8));
          const v = st ? -1 : le(z, p + 4, len);
          p += st ? 3 : 4 + len;
          if (id !== ATTR_CURRENT_FILE_VERSION || dv[o + D.VrDeadline] < 0) continue;
          dv[o + D.VrDeadline] = -1;
          if (v >= 0) dv[o + D.Ver] = v;
          this.activated(d, dv[o + D.VrCheck], v);
        }
      return;
    }
    // Server-to-client commands sent to the server, unknown ones and short ones get a Default Response.
    const need = cmd === 1 ? 9 : cmd === 3 ? 14 : cmd === 4 ? 18 : cmd === 6 ? 9 : -1;
    if (need < 0 || n < need || (cmd === 1 && z[h] & 1 && n < 11)) {
      if (need >= 0) this.log(Log.MALFORMED_OTA, this.de.subarray(d * 8, d * 8 + 8), cmd);
      return this.owe(Owed.Default, d, seq, cmd, need < 0 ? Zs.UNSUP : Zs.MALFORMED, 0);
    }
    const mfr = le(z, h + 1, 2);
    const j = this.job(d, 0);
    const jb = this.jb;
    const ji = this.ji;
    const jo = j * J.W;
    if (j >= 0) {
      jb[jo + J.Seen] = now;
      if (ji[2 * jo + J.State] !== JobState.Queued) jb[jo + J.Contact] = now;
    }
    // The image id after the field control (or status): manufacturer code, image type, file version.
    const ty = le(z, h + 3, 2);
    const ver = le(z, h + 5, 4);
    const off = le(z, h + 9, 4);
    const same3 = j >= 0 && ji[2 * jo + J.Mfr] === mfr && ji[2 * jo + J.Type] === ty && jb[jo + J.Ver] === ver;
    // A new request ends any page run in progress, and drops what is still owed to the device.
    if (j >= 0 && jb[jo + J.PageEnd]) {
      jb[jo + J.PageEnd] = 0;
      for (let p = 0; p < this.ow.length; p += O.W) if (this.ow[p + O.Dev] === d) this.ow[p] = 0;
    }
    if (cmd === 3 || cmd === 4) {
      // Image Block / Page Request.
      const st = ji[2 * jo + J.State];
      if (!same3 || st === JobState.Transferred || st === JobState.Activating)
        // The hub holds nothing, or not that image, for this device: NO_IMAGE_AVAILABLE tells the client to
        // stop asking (in a Default Response, as the Silicon Labs reference server answers).
        return this.owe(Owed.Default, d, seq, cmd, Zs.NO_IMAGE, 0);
      // The period the client states (it adopted ours, or has its own) decides whether it is paced enough.
      if (cmd === 3 && z[h] & 2 && n >= 16 + (z[h] & 1 ? 8 : 0)) ji[2 * jo + J.MinPeriod] = le(z, h + 14 + (z[h] & 1 ? 8 : 0), 2);
      if (off >= jb[jo + J.Size]) return this.owe(Owed.Abort, d, seq, 0, 0, 0);
      if (st === JobState.Queued) this.state(j, JobState.Transferring); // resuming after our restart
      const k = this.k;
      // Seconds the client is asked to wait (WAIT_FOR_DATA) rather than served; -1: served now.
      let later = -1;
      if (!ji[2 * jo + J.Admitted]) {
        // Slots held by sessions that asked recently; a client quiet for busyWaitS × 2 gives its slot up.
        let held = 0;
        for (let p = 0; p < jb.length; p += J.W) {
          if (ji[2 * p + J.Admitted] && now - jb[p + J.Seen] > k[K.BusyS] * 2000) ji[2 * p + J.Admitted] = 0;
          if (jb[p] && ji[2 * p + J.Admitted]) held++;
        }
        if (held >= k[K.Sessions]) later = k[K.BusyS];
      }
      if (later < 0) ji[2 * jo + J.Admitted] = 1;
      const min = k[K.MinPeriod];
      if (later < 0 && min > 0 && jb[jo + J.LastBlock] >= 0) {
        const gap = now - jb[jo + J.LastBlock];
        if (!ji[2 * jo + J.InSeconds] && ji[2 * jo + J.Asked] > 0 && gap >= ji[2 * jo + J.Asked] * SECONDS_MISREAD) {
          // It paused about our period read as seconds (FACTS §2: some clients do): say it again in seconds.
          ji[2 * jo + J.InSeconds] = 1;
          later = 0;
        } else if (gap < min && ji[2 * jo + J.MinPeriod] < min) {
          // Too fast for the hub: ask for a longer block period, which the client adopts — in ms, as a
          // client this fast evidently counts that way.
          ji[2 * jo + J.InSeconds] = 0;
          later = 0;
        }
      }
      if (later >= 0) {
        // WAIT_FOR_DATA: ask again in `later` seconds, with the block period the hub wants.
        const period = Math.max(min, ji[2 * jo + J.MinPeriod]);
        ji[2 * jo + J.Asked] = period;
        return this.owe(Owed.Wait, d, seq, later, ji[2 * jo + J.InSeconds] ? Math.ceil(period / 1000) : period, 0);
      }
      if (cmd === 3) {
        return this.owe(Owed.Block, d, seq, j, off, Math.min(z[h + 13], this.k[K.MaxBlock]));
      }
      jb[jo + J.PageOff] = off;
      jb[jo + J.PageEnd] = Math.min(jb[jo + J.Size], off + le(z, h + 14, 2));
      ji[2 * jo + J.PageMax] = z[h + 13];
      ji[2 * jo + J.PageGap] = Math.max(le(z, h + 16, 2), ji[2 * jo + J.MinPeriod]);
      jb[jo + J.PageAt] = now;
      ji[2 * jo + J.PageSeq] = seq;
      return; // served by pump(), after this input
    }
    if (cmd === 1) {
      // Query Next Image Request.
      dv[o + D.Ver] = ver;
      const hw = z[h] & 1 ? le(z, h + 9, 2) : -1;
      if (hw >= 0) dv[o + D.Hw] = hw;
      const st = j < 0 ? -1 : ji[2 * jo + J.State];
      // Nothing for it, or it already holds this image (an HCALCS waiting for activation).
      if (st < 0 || st === JobState.Transferred || st === JobState.Activating) return this.owe(Owed.Query, d, seq, Zs.NO_IMAGE, 0, 0);
      const g = ji[2 * jo + J.Img];
      const lo = this.im[g * I.W + I.MinHw];
      const hi = this.im[g * I.W + I.MaxHw];
      if (ji[2 * jo + J.Mfr] !== mfr || ji[2 * jo + J.Type] !== ty || (hw >= 0 && lo >= 0 && hi >= 0 && (hw < lo || hw > hi))) {
        // Refused before a single block is sent (DESIGN "What the hub promises").
        this.log(Log.HW_MISMATCH, this.de.subarray(d * 8, d * 8 + 8), mfr, ty, hw);
        this.owe(Owed.Query, d, seq, Zs.NO_IMAGE, 0, 0);
        return this.state(j, JobState.Failed, Resp.HW_MISMATCH);
      }
      if (ver >= jb[jo + J.Ver] && !ji[2 * jo + J.Force]) {
        // GBCS gives no response code for "already up to date"; Image Discarded is the closest (our choice).
        this.log(Log.UP_TO_DATE, this.de.subarray(d * 8, d * 8 + 8), ver, jb[jo + J.Ver]);
        this.owe(Owed.Query, d, seq, Zs.NO_IMAGE, 0, 0);
        return this.state(j, JobState.Failed, Resp.DISCARDED);
      }
      this.owe(Owed.Query, d, seq, Zs.SUCCESS, j, 0);
      jb[jo + J.Contact] = now;
      if (st === JobState.Queued) this.state(j, JobState.Transferring);
      return;
    }
    // Upgrade End Request. A repeated one for a job that already ended well (its answer was lost, or the
    // hub restarted before sending it) is answered again, so the device still activates; alerted once.
    const status = z[h];
    let e = j;
    if (j < 0) {
      const last = this.job(d, 1);
      const lo = last * J.W;
      if (last >= 0 && ji[2 * lo + J.State] === JobState.Done && status === Zs.SUCCESS && ji[2 * lo + J.Mfr] === mfr && ji[2 * lo + J.Type] === ty && jb[lo + J.Ver] === ver) e = last;
    } else if (!same3 || ji[2 * jo + J.State] === JobState.Queued) e = -1;
    if (e < 0) {
      this.log(Log.END_UNEXPECTED, this.de.subarray(d * 8, d * 8 + 8));
      return this.owe(Owed.Default, d, seq, cmd, Zs.SUCCESS, 0);
    }
    const eo = e * J.W;
    if (status !== Zs.SUCCESS) {
      if (ji[2 * eo + J.State] === JobState.Transferring) this.state(e, JobState.Failed, status === Zs.INVALID_IMAGE ? Resp.DISCARDED : Resp.FAILURE);
      // After a failed Upgrade End the server answers with a Default Response (FACTS §2).
      return this.owe(Owed.Default, d, seq, cmd, Zs.SUCCESS, 0);
    }
    // A PPMID activates on completion; an HCALCS holds the image until told (SECMP0007, FACTS §1).
    const ppmid = dv[o + D.Type] === DeviceType.PPMID;
    if (ji[2 * eo + J.State] === JobState.Transferring) {
      jb[eo + J.Off] = jb[eo + J.Size];
      ji[2 * eo + J.State] = ppmid ? JobState.Done : JobState.Transferred;
      jb[eo + J.Updated] = now;
      this.raise(Alert.SUCCEEDED, e, jb[eo + J.Ver], Resp.OK);
      this.changed(e, 2);
    }
    const cur = Math.floor((this.now + this.clock) / 1000) - ZIGBEE_EPOCH_S;
    // One repeated while activating (our response was lost) hears the activation time again.
    this.owe(Owed.End, d, seq, e, cur, ji[2 * eo + J.State] === JobState.Activating ? Math.max(cur, ji[2 * eo + J.UpAt]) : ppmid ? cur : UPGRADE_TIME_WAIT);
  }

  /** Owes a frame to device row d (or, for a device not in the log, -1 - its network address). A full
   *  table drops it: the client asks again (OTA clients retry), and nothing the hub holds is lost. */
  private owe(kind: number, d: number, seq: number, a: number, b: number, c: number): void {
    const ow = this.ow;
    for (let o = 0; o < ow.length; o += O.W)
      if (!ow[o]) {
        ow[o] = kind;
        ow[o + O.Dev] = d;
        ow[o + O.Order] = this.order++;
        ow[o + O.Seq] = seq < 0 ? (this.seq = (this.seq + 1) & 255) : seq;
        ow[o + O.A] = a;
        ow[o + O.B] = b;
        ow[o + O.C] = c;
        return;
      }
  }

  /** Owes each page run's next block when its spacing has passed and nothing else is owed to its device,
   *  then sends what is owed, oldest first, while the radio window has room: each frame is built into the one
   *  shared buffer just before it leaves. (One method, not two: a method costs ~5 JsVars.) */
  pump(): void {
    const now = this.now;
    const fl = this.fl;
    const ow = this.ow;
    const zb = this.zb;
    const jb = this.jb;
    const ji = this.ji;
    let t = -1;
    for (let o = 0; o < jb.length; o += J.W) {
      if (!jb[o] || !jb[o + J.PageEnd]) continue;
      const d = ji[2 * o + J.Dev];
      if (ji[2 * o + J.State] !== JobState.Transferring) {
        jb[o + J.PageEnd] = 0;
        continue;
      }
      let owed = now < jb[o + J.PageAt];
      for (let p = 0; p < ow.length; p += O.W) if (ow[p] && ow[p + O.Dev] === d) owed = true;
      if (!owed) {
        const off = jb[o + J.PageOff];
        const n = Math.min(ji[2 * o + J.PageMax], this.k[K.MaxBlock], jb[o + J.PageEnd] - off);
        jb[o + J.PageOff] = off + n;
        jb[o + J.PageAt] = now + ji[2 * o + J.PageGap];
        if (off + n >= jb[o + J.PageEnd]) jb[o + J.PageEnd] = 0;
        this.owe(Owed.Block, d, ji[2 * o + J.PageSeq], o / J.W, off, n);
      }
      if (jb[o + J.PageEnd] && (t < 0 || jb[o + J.PageAt] < t)) t = jb[o + J.PageAt];
    }
    this.wakeAt = t;
    for (;;) {
      let slot = -1;
      for (let i = 0; i < fl.length; i += 2) if (fl[i] < 0 || fl[i + 1] <= now) slot = i;
      // Round robin: the device served longest ago goes next, its frames in the order they were owed, so
      // one client's burst (or page run) never holds another device's answer behind it.
      let o = -1;
      let turn = 0;
      for (let p = 0; p < ow.length; p += O.W) {
        if (!ow[p]) continue;
        const t = (ow[p + O.Dev] | 0) < 0 ? 0 : this.dv[ow[p + O.Dev] * D.W + D.Turn];
        // Orders compared by difference: they wrap at 2^32, and rows owed at once are never that far apart.
        if (o < 0 || t < turn || (t === turn && ((ow[p + O.Order] - ow[o + O.Order]) | 0) < 0)) {
          o = p;
          turn = t;
        }
      }
      if (slot < 0 || o < 0) return;
      const owed = ow[o];
      let kind = owed;
      const d = ow[o + O.Dev] | 0;
      let a = ow[o + O.A];
      let b = ow[o + O.B];
      ow[o] = 0;
      const nwk = d < 0 ? -1 - d : this.dv[d * D.W + D.Nwk];
      const ep = d < 0 ? ow[o + O.C] : this.dv[d * D.W + D.Ep];
      if (nwk < 0) {
        this.log(Log.NOT_JOINED, this.de.subarray(d * 8, d * 8 + 8));
        continue;
      }
      // ZCL header: cluster-specific, server to client, default response disabled (0x19), or global (0x18).
      zb[0] = kind === Owed.Default || kind === Owed.Read ? 0x18 : 0x19;
      zb[1] = ow[o + O.Seq];
      // Command ids: Image Notify 0, Query Next Image Response 2, Image Block Response 5, Upgrade End
      // Response 7 (FACTS §2); Default Response 0x0b, Read Attributes 0 (ZCL §2.5).
      zb[2] = kind === Owed.Query ? 2 : kind === Owed.End ? 7 : kind === Owed.Default ? 0x0b : kind === Owed.Notify || kind === Owed.Read ? 0 : 5;
      let n = 3;
      if (kind === Owed.Notify) {
        // Unicast Image Notify: payload type 0, jitter 100 (FACTS §2).
        zb[3] = 0;
        zb[4] = 100;
        n = 5;
      } else if (kind === Owed.Query || kind === Owed.Block || kind === Owed.End) {
        // The job's image id (manufacturer, type, version) after the status, or first in an Upgrade End Response.
        const j = (kind === Owed.Query ? b : a) * J.W;
        zb[3] = kind === Owed.Query ? a : Zs.SUCCESS;
        n = put(zb, put(zb, put(zb, kind === Owed.End ? 3 : 4, ji[2 * j + J.Mfr], 2), ji[2 * j + J.Type], 2), jb[j + J.Ver], 4);
        const data = kind !== Owed.Block ? null : jb[j] && ji[2 * j + J.State] === JobState.Transferring ? this.read(ji[2 * j + J.Img], b, Math.min(ow[o + O.C], jb[j + J.Size] - b)) : null;
        if (kind === Owed.Query) n = a === Zs.SUCCESS ? put(zb, n, jb[j + J.Size], 4) : 4;
        else if (kind === Owed.End) n = put(zb, put(zb, n, b, 4), ow[o + O.C], 4);
        else if (!data) {
          // A range on its way (streamed image), or a job that ended meanwhile: the client asks again.
          jb[j + J.PageEnd] = 0;
          kind = Owed.Wait;
          a = STREAM_WAIT_S;
          b = Math.max(this.k[K.MinPeriod], ji[2 * j + J.MinPeriod]);
        } else {
          n = put(zb, n, b, 4);
          zb[n++] = data.length;
          zb.set(data, n);
          n += data.length;
          jb[j + J.LastBlock] = now;
          if (b + data.length > jb[j + J.Off]) {
            jb[j + J.Off] = b + data.length;
            jb[j + J.Updated] = now;
            this.changed(a, 0);
          }
        }
      } else if (kind === Owed.Abort) {
        zb[3] = Zs.ABORT;
        n = 4;
      } else if (kind === Owed.Default) {
        zb[3] = a;
        zb[4] = b;
        n = 5;
      } else if (kind === Owed.Read) n = put(zb, 3, ATTR_CURRENT_FILE_VERSION, 2);
      if (kind === Owed.Wait) {
        // Image Block Response WAIT_FOR_DATA: ask again in `a` s, with minimumBlockPeriod `b` (always sent, FACTS §2).
        const cur = Math.floor((this.now + this.clock) / 1000) - ZIGBEE_EPOCH_S;
        zb[2] = 5;
        zb[3] = Zs.WAIT;
        n = put(zb, put(zb, put(zb, 4, cur, 4), cur + a, 4), b, 2);
      }
      const handle = this.p.radio.send(nwk, ep, OTA_CLUSTER, zb, n, now);
      if (handle === -1) {
        // The driver has no room: owed again, first in line.
        ow[o] = owed;
        return;
      }
      if (handle < 0) continue; // a frame the co-processor can never carry (the board's maxBlock is too big)
      fl[slot] = handle;
      fl[slot + 1] = now + this.k[K.ConfirmMs];
      if (d >= 0) this.dv[d * D.W + D.Turn] = ++this.order;
    }
  }

  // ---- streamed images: a few ranges of each image's bytes, asked of the host ahead of its clients

  /**
   * Up to `len` bytes of image g from `off`, never past the end of the range holding `off`; null while it
   * is on its way (or, stored, if the store has none).
   */
  read(g: number, off: number, len: number): Uint8Array | null {
    const now = this.now;
    const im = this.im;
    if (im[g * I.W + I.Streamed] !== 1) {
      const b = (this.p.images as ImageStore).read(this.nm[g], off, len);
      return b.length ? b : null;
    }
    const rb = this.k[K.RangeBytes];
    const size = im[g * I.W + I.Size];
    const start = off - (off % rb);
    if (!this.rg) {
      const nr = this.k[K.Ranges];
      (this.rg = new Float64Array(nr * R.W)).fill(-1);
      this.rp = new Uint8Array(nr * rb);
      (this.ak = new Float64Array(nr * Q.W)).fill(-1);
    }
    // Read ahead of the client while there is room, so it rarely waits: a range takes a host round trip.
    if (start + rb < size && this.slot(0) >= 0) this.want(g, start + rb, 1);
    const s = this.want(g, start, 0);
    if (s < 0) return null;
    this.rg[s * R.W + R.Used] = now;
    this.rg[s * R.W + R.Served] = 1;
    const from = s * rb + off - start;
    return (this.rp as Uint8Array).subarray(from, Math.min(s * rb + Math.min(rb, size - start), from + len));
  }

  /** Where a new range goes: a free slot, else the least recently used one clients have had (or none came
   *  for lately), else, for a range a client waits for, one fetched ahead; -1 if none. */
  private slot(forClient: number): number {
    const now = this.now;
    const rg = this.rg as Float64Array;
    let lru = -1;
    let ahead = -1;
    for (let o = 0; o < rg.length; o += R.W) {
      if (rg[o] < 0) return o / R.W;
      if ((rg[o + R.Served] || now - rg[o + R.Used] > UNCLAIMED_MS) && (lru < 0 || rg[o + R.Used] < rg[lru * R.W + R.Used])) lru = o / R.W;
      else if (forClient && rg[o + R.Ahead] && !rg[o + R.Served] && ahead < 0) ahead = o / R.W;
    }
    return lru >= 0 ? lru : ahead;
  }

  /** The slot holding a range; if none, -1, and the host is asked for it (a `need` event) unless it was lately.
   *  With `ask` 0, only looked for. */
  private want(g: number, off: number, ahead: number, ask = 1): number {
    const now = this.now;
    const rg = this.rg as Float64Array;
    for (let o = 0; o < rg.length; o += R.W)
      if (rg[o] === g && rg[o + R.Off] === off) {
        rg[o + R.Ahead] = rg[o + R.Ahead] && ahead; // a client now waits for it
        return o / R.W;
      }
    if (!ask) return -1;
    const ak = this.ak as Float64Array;
    let free = -1;
    for (let o = 0; o < ak.length; o += Q.W) {
      if (ak[o] >= 0 && now - ak[o + Q.At] >= ASK_AGAIN_MS) ak[o] = -1;
      if (ak[o] === g && ak[o + Q.Off] === off) {
        if (!ahead) ak[o + Q.Ahead] = 0;
        return -1;
      }
      if (ak[o] < 0) free = o;
    }
    if (free < 0) return -1;
    ak[free] = g;
    ak[free + Q.Off] = off;
    ak[free + Q.At] = now;
    ak[free + Q.Ahead] = ahead;
    w(0, 1);
    w(Ev.Need);
    w(this.nm[g]);
    w(off);
    w(Math.min(this.k[K.RangeBytes], this.im[g * I.W + I.Size] - off));
    this.out(0);
    return -1;
  }

  /** Forgets a streamed image's ranges (removed, replaced, or no device downloading it any more); with none
   *  left, the range tables go until a streamed image is served again. */
  private drop(g: number): void {
    const rg = this.rg;
    const ak = this.ak as Float64Array;
    if (!rg) return;
    let held = 0;
    for (let o = 0; o < rg.length; o += R.W) {
      if (rg[o] === g) rg[o] = -1;
      if (rg[o] >= 0) held++;
    }
    for (let o = 0; o < ak.length; o += Q.W) {
      if (ak[o] === g) ak[o] = -1;
      if (ak[o] >= 0) held++;
    }
    if (!held) this.rg = this.rp = this.ak = null;
  }

  // ---- activation and version reads

  /** Reads a device's version, again if `check` is absent; else a new read, `check` ≥ 0 when it checks an
   *  activation. The answer is always an 0x8F8B alert. */
  private readVersion(d: number, check?: number): void {
    const now = this.now;
    const o = d * D.W;
    if (check !== undefined) {
      this.dv[o + D.VrDeadline] = now + this.k[K.VrTimeout];
      this.dv[o + D.VrCheck] = check;
    }
    this.dv[o + D.VrNext] = now + Math.ceil(this.k[K.VrTimeout] / VERSION_READ_TRIES);
    this.owe(Owed.Read, d, -1, 0, 0, 0);
  }

  /**
   * The answer to device d's version read (`v`; -1: none) at activation check `check` (-1: a read the
   * host asked for). A device not yet running the image
   * is told to activate again (the time has come: now) and looked at later, until the checks run out; the
   * job is then done, its state written with the 0x8F8B alert (activationStatus 1: an activation was due
   * and the device runs something else, or said nothing).
   */
  private activated(d: number, check: number, v: number): void {
    const now = this.now;
    const jb = this.jb;
    const ji = this.ji;
    const j = this.job(d, 2);
    const o = j * J.W;
    const activating = j >= 0 && ji[2 * o + J.State] === JobState.Activating;
    const ran = activating && v === jb[o + J.Ver];
    if (activating && !ran && check >= 0 && check + 1 < ACTIVATION_CHECKS) {
      const cur = Math.floor((this.now + this.clock) / 1000) - ZIGBEE_EPOCH_S;
      this.owe(Owed.End, d, -1, j, cur, cur);
      jb[o + J.Activates] = now;
      jb[o + J.Due] = now + this.k[K.Settle];
      ji[2 * o + J.Check] = check + 1;
      return;
    }
    const done = activating && (ran || check >= 0);
    if (done) {
      ji[2 * o + J.State] = JobState.Done;
      jb[o + J.Updated] = now;
    }
    this.raise(Alert.VERSION, -1 - d, v, v < 0 || (activating && !ran) ? 1 : 0);
    if (done) this.changed(j, 2);
  }

  // ---- time

  /** Serves due page blocks; times out silent transfers, version reads and activation checks. */
  tick(now: number): void {
    this.now = now;
    this.p.radio.tick(now);
    const jb = this.jb;
    const ji = this.ji;
    const dv = this.dv;
    for (let o = 0; o < jb.length; o += J.W) {
      if (!jb[o]) continue;
      const j = o / J.W;
      if (ji[2 * o + J.State] === JobState.Transferring && now - jb[o + J.Contact] > this.k[K.Silence]) {
        this.log(Log.SILENT, this.je.subarray(j * 8, j * 8 + 8), Math.round((now - jb[o + J.Contact]) / 1000));
        this.state(j, JobState.Failed, Resp.FAILURE);
      }
      if (jb[o + J.Activates] >= 0 && now >= jb[o + J.Due]) {
        // The activation check is due: read the device's version.
        jb[o + J.Activates] = -1;
        if (ji[2 * o + J.Dev] >= 0) this.readVersion(ji[2 * o + J.Dev], ji[2 * o + J.Check]);
      }
    }
    for (let o = 0; o < dv.length; o += D.W) {
      if (!dv[o] || dv[o + D.VrDeadline] < 0) continue;
      if (now >= dv[o + D.VrDeadline]) {
        dv[o + D.VrDeadline] = -1;
        this.activated(o / D.W, dv[o + D.VrCheck], -1);
      } else if (now >= dv[o + D.VrNext]) this.readVersion(o / D.W);
    }
    this.pump();
  }

  // ---- outcomes

  /** Job j enters state s; a failure (`code` its response code) raises its 0x8F89 alert. */
  private state(j: number, s: number, code?: number): void {
    const o = j * J.W;
    this.ji[2 * o + J.State] = s;
    this.jb[o + J.Updated] = this.now;
    if (s === JobState.Failed) {
      this.ji[2 * o + J.Code] = code as number;
      this.raise(Alert.FAILED, j, this.jb[o + J.Ver], code as number);
    }
    this.changed(j, s === JobState.Failed ? 2 : 1);
  }

  /** Raises an alert for job j's device (j < 0: device -1 - j's, for a version read), with the version and
   *  `x`, the response code (0x8F89, 0x8F8A) or activation status (0x8F8B). The ledger is saved before the
   *  host or the device hears of it (durable first, then visible). */
  private raise(code: number, j: number, ver: number, x: number): void {
    const now = this.now;
    const al = this.al;
    let o = 0;
    while (o < al.length - A.W && al[o]) o += A.W;
    // Full only past the room job.start and version.read keep (they refuse first): the newest row then.
    al[o] = this.lh[L.NextAlert]++;
    al[o + A.Code] = code;
    al[o + A.Time] = Math.floor((now + this.clock) / 1000);
    al[o + A.Ver] = ver;
    al[o + A.Resp] = code === Alert.VERSION ? -1 : x;
    al[o + A.Act] = code === Alert.VERSION ? x : -1;
    this.ae.set(j >= 0 ? this.je.subarray(j * 8, j * 8 + 8) : this.de.subarray((-1 - j) * 8, -j * 8), (o / A.W) * 8);
    this.save(2);
    this.rec(3, o / A.W, Ev.Alert);
  }

  /** A job changed: `st` 0 its offset (told at most every progressIntervalMs), 1 its state (saved, and always
   *  told), 2 its state, already saved with the alert it raised. */
  private changed(j: number, st: number): void {
    const now = this.now;
    const o = j * J.W;
    const jb = this.jb;
    const ji = this.ji;
    if (!st && jb[o + J.Progress] >= 0 && now - jb[o + J.Progress] < this.k[K.Progress]) return;
    jb[o + J.Progress] = now;
    if (st) {
      if (st < 2) this.save(2);
      // The last download of an image is over: its streamed ranges are of no more use.
      if (!this.inUse(ji[2 * o + J.Img], true)) this.drop(ji[2 * o + J.Img]);
      if (ji[2 * o + J.State] >= JobState.Transferred) ji[2 * o + J.Admitted] = jb[o + J.PageEnd] = 0;
    }
    this.rec(2, j, Ev.Job);
  }

  /** A log event: a code and its fields (docs/host-link.md). */
  log(code: number, ...fields: Item[]): void {
    w(0, 1);
    w(Ev.Log);
    w(code);
    for (let i = 0; i < fields.length; i++) w(fields[i]);
    this.out(0);
  }

  /**
   * Writes record `row` of a table (0 device, 1 image, 2 job, 3 alert: docs/host-link.md) into the message
   * being written; with `ev`, as a whole event message of its own. Unknown cells hold -1, which w writes as null.
   */
  rec(t: number, row: number, ev?: number): void {
    if (ev) {
      w(0, 1);
      w(ev);
    }
    if (t === 0) {
      const o = row * D.W;
      const dv = this.dv;
      w(this.de.subarray(row * 8, row * 8 + 8));
      w(dv[o]);
      w(dv[o + D.Nwk]);
      w(dv[o + D.Ver]);
      w(dv[o + D.Hw]);
      w(dv[o + D.Seen]);
    } else if (t === 1) {
      const o = row * I.W;
      const im = this.im;
      w(this.nm[row]);
      for (let i = 0; i < 5; i++) w(im[o + i] < 0 ? 0 : im[o + i]);
      for (let i = 5; i < I.W; i++) w(im[o + i]);
    } else if (t === 2) {
      const o = row * J.W;
      const jb = this.jb;
      const ji = this.ji;
      w(jb[o]);
      w(this.je.subarray(row * 8, row * 8 + 8));
      w(this.jn[row]);
      w(ji[2 * o + J.Mfr]);
      w(ji[2 * o + J.Type]);
      w(jb[o + J.Ver]);
      w(ji[2 * o + J.State]);
      w(jb[o + J.Off]);
      w(jb[o + J.Size]);
      w(ji[2 * o + J.Code]);
      w(ji[2 * o + J.Force]);
      w(jb[o + J.Started]);
      w(jb[o + J.Updated]);
    } else {
      const o = row * A.W;
      const al = this.al;
      w(al[o]);
      w(al[o + A.Code]);
      w(this.ae.subarray(row * 8, row * 8 + 8));
      w(al[o + A.Time] * 1000);
      // Unknown is 0xFFFFFFFF in these 32-bit cells (-1 stored): null. (w writes a negative number as null.)
      w(al[o + A.Ver] === 0xffffffff ? null : al[o + A.Ver]);
      w(al[o + A.Resp] | 0);
      w(al[o + A.Act] | 0);
    }
    if (ev) this.out(0);
  }
}
