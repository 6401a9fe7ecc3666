// The least time OTA transfers can take through the whole system a hub drives: the UART to its ZNP stick
// (115200 8N1, each direction on its own) and the one 802.15.4 channel, every frame at the size the real
// encoders give it (ZCL OTA, ZNP AF frames, MAC + NWK with its security + APS on the air). Two lower bounds,
// and the floor is the larger: each device's critical path (its exchanges run one leg after the other), and
// the busiest shared resource (every transfer's frames must cross it). Where the airtime floor
// (airtime-floor.ts) asks "how close to the radio's limit", this one asks "how close to what the hub, the
// stick and the radio could do together". Worked numbers: docs/simulator.md.
//
// The critical path is the least *expected* time: besides the fixed legs it holds the mean of two random waits
// nothing can overlap for one device alone, each a separate term of the result: the initial CSMA-CA backoff
// every frame must draw (IEEE 802.15.4-2006 §7.5.1.4), and the client's random pause between Image Notify and
// its query (the simulated client's notifyJitterMs). A single run can beat it by drawing short waits; its
// fixed part (ms − csmaBackoffMs − queryJitterMs) it cannot. The shared bounds hold no backoff: with many
// senders one sender's backoff overlaps other senders' frames and UART bytes, so only the frames themselves are
// certain to take the channel's time.
import { encodeAfDataConfirm, encodeAfDataRequest, encodeAfIncomingMsg, encodeStatus } from '../../firmware/radio/znp-commands';
import { AF_DATA_CONFIRM, AF_DATA_REQUEST, AF_INCOMING_MSG, buildZnpFrame, srspOf } from '../../firmware/radio/znp-frame';
import { TransferFrames, transferFrames, unicastUs } from './airtime-floor';
import { ackAirtimeUs, airtimeUs, psduBytes } from './han-frame';
import { ZNP_BAUD_RATE } from './han-simulator';
import { DEFAULT_TIMING, ClientQuirks, ClientTiming } from './ota-client';
import { BACKOFF_UNIT_US, CCA_US, MAC_MIN_BE, TURNAROUND_US } from './radio-model';
import { uartMs } from './uart-line';

/** One device's transfer as the floor sees it. */
export interface FloorDevice {
  /** The block the hub sends it: min(client maxDataSize, hub maxBlock). */
  blockSize: number;
  /** The client's own pause between a block and its next request (its profile's minimumBlockPeriod), ms. */
  turnaroundMs: number;
  /** The longest random pause between an Image Notify and the query it triggers (ms; drawn uniformly from
   *  0 to this, ota-client.ts notifyJitterMs). Absent: 0. */
  queryJitterMs?: number;
  /** The client's processing time between a frame from the hub reaching it and it acting on that frame (ms;
   *  ota-client.ts processingMs, 0 by default): it comes before each of its frames on the path. Absent: 0. */
  processingMs?: number;
}

/** A scenario's device as the floor sees it: the block the hub sends it, and its client's pauses as the
 *  simulator sets them (its profile's minimumBlockPeriod; the client timing's query jitter and processing time). */
export function floorDevice(d: { maxDataSize?: number; quirks?: Partial<ClientQuirks> }, maxBlock: number, timing: ClientTiming = DEFAULT_TIMING): FloorDevice {
  return { blockSize: Math.min(d.maxDataSize ?? 64, maxBlock), turnaroundMs: d.quirks?.minBlockPeriodMs ?? 0, queryJitterMs: timing.notifyJitterMs, processingMs: timing.processingMs };
}

export type FloorBound = 'critical path' | 'UART to the stick' | 'UART to the hub' | 'channel';

export interface SystemFloor {
  ms: number;
  /** Which bound it is. */
  bound: FloorBound;
  /** The slowest device's critical path, and each shared resource's busy time (ms). */
  criticalPathMs: number;
  /** Of that critical path: the mean initial CSMA-CA backoff of its frames, and the mean query jitter (less the
   *  device's ACK of the Image Notify, which goes out within it), ms. */
  csmaBackoffMs: number;
  queryJitterMs: number;
  toStickMs: number;
  toHubMs: number;
  airMs: number;
}

const zeros = (n: number) => new Uint8Array(n);

/** ZNP frames (FACTS §4) by the codecs the stick simulator uses; their sizes depend only on the ZCL length. */
const znp = {
  dataRequest: (zcl: number) => buildZnpFrame(AF_DATA_REQUEST, encodeAfDataRequest({ dstAddr: 0, dstEndpoint: 0, srcEndpoint: 0, clusterId: 0, transId: 0, options: 0, radius: 0, data: zeros(zcl) })).length,
  /** The Z-Stack 3.x form, with the macSrcAddr/radius trailer, as the simulated stick sends it. */
  incomingMsg: (zcl: number) =>
    buildZnpFrame(
      AF_INCOMING_MSG,
      encodeAfIncomingMsg({ groupId: 0, clusterId: 0, srcAddr: 0, srcEndpoint: 0, dstEndpoint: 0, wasBroadcast: 0, linkQuality: 0, securityUse: 0, timestamp: 0, transSeq: 0, data: zeros(zcl), macSrcAddr: 0, radius: 0 }),
    ).length,
  srsp: buildZnpFrame(srspOf(AF_DATA_REQUEST), encodeStatus(0)).length,
  confirm: buildZnpFrame(AF_DATA_CONFIRM, encodeAfDataConfirm({ status: 0, endpoint: 0, transId: 0 })).length,
};

const uart = (bytes: number) => uartMs(bytes, ZNP_BAUD_RATE);
const air = (zcl: number) => airtimeUs(psduBytes(zcl)) / 1000;
/** A CCA, then the RX-to-TX turnaround before the frame (IEEE 802.15.4-2006 §7.5.1.4, §6.4.1); the backoff
 *  before the CCA is counted on its own (MEAN_BACKOFF_MS). */
const ACCESS_MS = (CCA_US + TURNAROUND_US) / 1000;
/** Unslotted CSMA-CA draws a backoff of 0 … 2^BE − 1 unit backoff periods before each CCA, BE = macMinBE at a
 *  frame's first try (IEEE 802.15.4-2006 §7.5.1.4; macMinBE default 3, Table 86; aUnitBackoffPeriod 20 symbols,
 *  §7.4.1): uniform, so a mean of (2^macMinBE − 1) ÷ 2 = 3.5 units, 1.12 ms, before every frame. */
const MEAN_BACKOFF_UNITS = (2 ** MAC_MIN_BE - 1) / 2;
const MEAN_BACKOFF_MS = (MEAN_BACKOFF_UNITS * BACKOFF_UNIT_US) / 1000;
const ACK_MS = (TURNAROUND_US + ackAirtimeUs()) / 1000;

/** Hub → device: the AF_DATA_REQUEST crosses the UART, the stick senses the channel once, turns round and
 *  sends (its backoff: criticalPath). Ends when the frame has left the air, when the device hands it up. */
const down = (zcl: number) => uart(znp.dataRequest(zcl)) + ACCESS_MS + air(zcl);
/** Device → hub, from the frame's start: on the air, then up the UART as AF_INCOMING_MSG. The frame's ACK is
 *  not on this path: the stick's MAC acknowledges while its stack hands the frame up (radio-model.ts delivers
 *  at the frame's end). */
const up = (zcl: number) => air(zcl) + uart(znp.incomingMsg(zcl));
/** From a hub frame's end to the device's answer on the air: the device sends its ACK (its transceiver is busy
 *  until then, radio-model.ts) while the client processes the frame and pauses (pauseMs, both together), then
 *  senses the channel once, turns round and sends (its backoff: criticalPath). */
const gap = (pauseMs: number) => Math.max(ACK_MS, pauseMs) + ACCESS_MS;

/** A transfer's frames; a client that keeps a pause between blocks states it in each Image Block Request, as
 *  the simulated one does (minimumBlockPeriod, ota-client.ts). */
const framesOf = (imageSize: number, d: FloorDevice) => transferFrames(imageSize, d.blockSize, d.turnaroundMs > 0 ? d.turnaroundMs : undefined);

/** The hub's frames a transfer needs before the hub can raise 0x8F8A (on hearing the Upgrade End Request), and the device's. */
function hubFrames(f: TransferFrames): { zcl: number; count: number }[] {
  return [{ zcl: f.notify, count: 1 }, { zcl: f.queryResponse, count: 1 }, ...f.blocks.map((b) => ({ zcl: b.response, count: b.count }))];
}
function deviceFrames(f: TransferFrames): { zcl: number; count: number }[] {
  return [{ zcl: f.query, count: 1 }, ...f.blocks.map((b) => ({ zcl: b.request, count: b.count })), { zcl: f.endRequest, count: 1 }];
}
const sum = (frames: { zcl: number; count: number }[], ms: (zcl: number) => number) => frames.reduce((n, x) => n + x.count * ms(x.zcl), 0);

/**
 * One device alone, from the job's start to the hub hearing its Upgrade End Request: Image Notify down, the
 * query up and its response down, each block's request up and response down, the Upgrade End Request up,
 * with a gap before each of the device's frames (before the query the client's mean query jitter, before
 * each block request but the first its pause between blocks, none before the first block request and the
 * Upgrade End Request: verifying takes no time in the simulator; each of these 2 + blocks frames after the
 * client's processing time, which the gap's ACK hides while it is shorter), and before each of those 4 + 2 × blocks
 * frames the mean initial CSMA-CA backoff. For one device nothing overlaps a backoff: the stick and the client
 * each wait for the other's frame before theirs.
 */
export function criticalPath(imageSize: number, d: FloorDevice): { ms: number; csmaBackoffMs: number; queryJitterMs: number; frames: number } {
  const f = framesOf(imageSize, d);
  const blocks = f.blocks.reduce((n, b) => n + b.count, 0);
  const legs = down(f.notify) + up(f.query) + down(f.queryResponse) + f.blocks.reduce((n, b) => n + b.count * (up(b.request) + down(b.response)), 0) + up(f.endRequest);
  const frames = 4 + 2 * blocks;
  const csmaBackoffMs = frames * MEAN_BACKOFF_MS;
  // Before the query the client's mean query jitter (a uniform draw from 0 to queryJitterMs), which its ACK of the
  // Image Notify goes out within; before the first block request and the Upgrade End Request no pause; before
  // every other block request the client's pause between blocks. Each starts after the client's processing.
  const p = d.processingMs ?? 0;
  const queryGap = gap(p + (d.queryJitterMs ?? 0) / 2);
  const queryJitterMs = queryGap - gap(p);
  const ms = legs + queryGap + 2 * gap(p) + (blocks - 1) * gap(p + d.turnaroundMs) + csmaBackoffMs;
  return { ms, csmaBackoffMs, queryJitterMs, frames };
}

/**
 * Every transfer's frames on the shared resources, each direction of the UART on its own (full duplex):
 * - to the stick, each AF_DATA_REQUEST and then its SRSP: the hub may not write its next SREQ before the SRSP
 *   of this one is in (Z-Stack Monitor and Test API, TI SWRA198: an SREQ is answered by its SRSP; the driver,
 *   firmware/radio/znp-driver.ts, holds one at a time), so the line to the stick is idle that long;
 * - to the hub, each AF_INCOMING_MSG, and each AF_DATA_REQUEST's SRSP and AF_DATA_CONFIRM;
 * - on the channel, each frame with its turnaround and ACK (a CCA does not hold the channel; a backoff does not
 *   either, and with many senders one sender's backoff passes while others' frames are on the air).
 */
export function sharedMs(imageSize: number, devices: FloorDevice[]): Pick<SystemFloor, 'toStickMs' | 'toHubMs' | 'airMs'> {
  let toStickMs = 0;
  let toHubMs = 0;
  let airMs = 0;
  for (const d of devices) {
    const f = framesOf(imageSize, d);
    const hub = hubFrames(f);
    const dev = deviceFrames(f);
    toStickMs += sum(hub, (z) => uart(znp.dataRequest(z) + znp.srsp));
    toHubMs += sum(dev, (z) => uart(znp.incomingMsg(z))) + sum(hub, () => uart(znp.srsp + znp.confirm));
    airMs += sum([...hub, ...dev], (z) => unicastUs(z) / 1000);
  }
  return { toStickMs, toHubMs, airMs };
}

/** The larger of the slowest device's critical path and the busiest shared resource. */
export function systemFloor(imageSize: number, devices: FloorDevice[]): SystemFloor {
  const slowest = devices.map((d) => criticalPath(imageSize, d)).reduce((a, b) => (b.ms > a.ms ? b : a));
  const s = sharedMs(imageSize, devices);
  const bounds: [FloorBound, number][] = [
    ['critical path', slowest.ms],
    ['UART to the stick', s.toStickMs],
    ['UART to the hub', s.toHubMs],
    ['channel', s.airMs],
  ];
  const [bound, ms] = bounds.reduce((a, b) => (b[1] > a[1] ? b : a));
  return { ms, bound, criticalPathMs: slowest.ms, csmaBackoffMs: slowest.csmaBackoffMs, queryJitterMs: slowest.queryJitterMs, ...s };
}
