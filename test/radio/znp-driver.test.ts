import fc from 'fast-check';
import { RadioError } from '../../firmware/core/codes';
import { RadioEv, RadioSink } from '../../firmware/ports/radio';
import {
  decodeAfDataRequest,
  decodeAfRegister,
  decodeAfDataConfirm,
  decodeAfIncomingMsg,
  decodeEndDeviceAnnce,
  decodeIeeeAddrReq,
  decodeIeeeAddrRsp,
  decodeRpcError,
  decodeSysResetInd,
  encodeAfDataConfirm,
  encodeAfIncomingMsg,
  encodeEndDeviceAnnce,
  encodeIeeeAddrRsp,
  encodeStatus,
  encodeSysResetInd,
} from '../../firmware/radio/znp-commands';
import { ZnpDriver, ZnpLimit } from '../../firmware/radio/znp-driver';
import {
  AF_DATA_CONFIRM,
  AF_DATA_REQUEST,
  AF_INCOMING_MSG,
  AF_REGISTER,
  buildZnpFrame,
  commandOf,
  frameType,
  MAX_DATA,
  RPC_ERROR,
  srspOf,
  SYS_RESET_IND,
  TYPE_SREQ,
  TYPE_SRSP,
  ZDO_END_DEVICE_ANNCE_IND,
  ZDO_IEEE_ADDR_REQ,
  ZDO_IEEE_ADDR_RSP,
  ZnpFrame,
  ZnpFrameReader,
} from '../../firmware/radio/znp-frame';
import { RadioModel } from '../../host-tools/sim/radio-model';
import { ManualScheduler } from '../../host-tools/sim/scheduler';
import { SimZnpStick, StickDevice } from '../../host-tools/sim/znp-stick';
// Independent implementation of the same protocol (FACTS §4, §7).
import { Frame as HerdsmanFrame } from 'zigbee-herdsman/dist/adapter/z-stack/unpi';
import { ZpiObject } from 'zigbee-herdsman/dist/adapter/z-stack/znp';
import * as Zdo from 'zigbee-herdsman/dist/zspec/zdo';

const OTA = 0x0019;
/** Every board's radio window: 2 data frames in flight, so the driver holds 3 SREQs (one more for a ZDO request). */
const WINDOW = 2;
const SLOTS = WINDOW + 1;
const DEVICE = { nwk: 0x1001, endpoint: 1 };
const DEVICE_EUI = '000D6F0000000001';
/** The same EUI-64 as it is on the wire: least significant byte first. */
const DEVICE_EUI_WIRE = [0x01, 0, 0, 0, 0, 0x6f, 0x0d, 0];

type Ev = [RadioEv, number, number, number[] | null];

/** A sink that records what it is told; `views` keeps the data views themselves, to check they are views. */
class Recorder implements RadioSink {
  evs: Ev[] = [];
  views: Uint8Array[] = [];
  onEvent?: (ev: RadioEv, a: number, b: number) => void;
  radio(ev: RadioEv, a: number, b: number, data: Uint8Array | null): void {
    this.evs.push([ev, a, b, data ? Array.from(data) : null]);
    if (data) this.views.push(data);
    if (this.onEvent) this.onEvent(ev, a, b);
  }
  take(): Ev[] {
    return this.evs.splice(0, this.evs.length);
  }
}

const err = (code: RadioError, detail: number): Ev => [RadioEv.Error, code, detail, null];
const confirm = (handle: number, status: number): Ev => [RadioEv.Confirm, handle, status, null];

/** A driver whose writes are parsed back into frames (copies: the driver's views are of its own buffer). */
/** A driver writing to no stick; `registered`: its first tick's AF_REGISTER answered, and forgotten. */
function bare(opts: { registered?: boolean; window?: number } = {}) {
  const sink = new Recorder();
  const written: ZnpFrame[] = [];
  const raw: number[][] = [];
  const reader = new ZnpFrameReader();
  const d = new ZnpDriver((b) => {
    raw.push(Array.from(b));
    written.push(...reader.push(b));
  }, sink, opts.window ?? WINDOW);
  const cmds = () => written.map(commandOf);
  const answer = (command: number, data: Uint8Array | number[], now = 1) => d.onBytes(buildZnpFrame(command, Uint8Array.from(data)), now);
  if (opts.registered) {
    d.tick(0);
    answer(srspOf(AF_REGISTER), [0], 0);
    written.length = 0;
    raw.length = 0;
  }
  return { d, sink, written, raw, cmds, answer };
}

/** Driver and stick joined by a virtual UART whose bytes arrive on the next scheduler turn, as a serial port's would.
 *  The driver's bytes are passed on as the view it wrote, not a copy: it promises to leave them alone until answered. */
function bench(opts: { lossRate?: number; lose?: number } = {}) {
  const sched = new ManualScheduler();
  const radio = new RadioModel({ seed: 7, lossRate: opts.lossRate });
  const received: { clusterId: number; data: number[] }[] = [];
  const device: StickDevice = { ...DEVICE, eui: DEVICE_EUI, receive: (clusterId, data) => received.push({ clusterId, data: Array.from(data) }) };
  const sink = new Recorder();
  // What crossed the UART, to check the one-SREQ-at-a-time rule.
  let inFlight = 0;
  let maxInFlight = 0;
  const toHost = new ZnpFrameReader();
  const toStick = new ZnpFrameReader();
  const stick = new SimZnpStick({
    write: (b) => {
      for (const f of toHost.push(b)) if (frameType(f.cmd0) === TYPE_SRSP) inFlight--;
      sched.setTimer(0, () => driver.onBytes(b, sched.now()));
    },
    radio,
    scheduler: sched,
    devices: () => [device],
  });
  const driver = new ZnpDriver((b) => {
    sched.setTimer(0, () => {
      const fs = toStick.push(b);
      // A frame lost on the UART (`lose`: its command) never reaches the stick.
      if (fs.some((f) => commandOf(f) === opts.lose)) return;
      for (const f of fs) if (frameType(f.cmd0) === TYPE_SREQ) maxInFlight = Math.max(maxInFlight, ++inFlight);
      stick.onBytes(b);
    });
  }, sink, WINDOW);
  const run = (ms = 100) => {
    sched.advance(ms);
    driver.tick(sched.now());
  };
  return { sched, radio, stick, driver, sink, received, run, take: () => sink.take(), maxInFlight: () => maxInFlight };
}

function ready(b: ReturnType<typeof bench>): void {
  b.driver.tick(b.sched.now());
  b.run();
  // A registration that worked says nothing.
  expect(b.take()).toEqual([]);
}

const bytes = (xs: number[]) => Uint8Array.from(xs);

describe('ZnpDriver against the simulated stick', () => {
  test('start registers the hub endpoint (SE profile, ESP device, OTA cluster in and out); success is silent', () => {
    const b = bench();
    ready(b);
    expect(b.stick.registeredEndpoints()).toEqual([1]);
  });

  test('an endpoint the stick already knows (0xB8) is fine too', () => {
    const b = bench();
    ready(b);
    ready(b);
    expect(b.stick.registeredEndpoints()).toEqual([1]);
  });

  test('after a stick reset the driver reports it and registers again', () => {
    const b = bench();
    ready(b);
    b.stick.reset(2);
    expect(b.stick.registeredEndpoints()).toEqual([]);
    b.run();
    expect(b.take()).toEqual([[RadioEv.Reset, 0, 2, null]]);
    expect(b.stick.registeredEndpoints()).toEqual([1]);
  });

  test('send delivers the frame to the device and confirms it', () => {
    const b = bench();
    ready(b);
    const h = b.driver.send(DEVICE.nwk, DEVICE.endpoint, OTA, bytes([0x19, 1, 2]), 3, b.sched.now());
    b.run();
    expect(b.received).toEqual([{ clusterId: OTA, data: [0x19, 1, 2] }]);
    expect(b.take()).toEqual([confirm(h, 0)]);
  });

  test('a link that loses every frame confirms MAC_NO_ACK and delivers nothing', () => {
    const b = bench({ lossRate: 1 });
    ready(b);
    const h = b.driver.send(DEVICE.nwk, DEVICE.endpoint, OTA, bytes([1]), 1, b.sched.now());
    b.run();
    expect(b.received).toEqual([]);
    expect(b.take()).toEqual([confirm(h, 0xe9)]);
  });

  test('a send whose registration was lost on the UART is refused by the stick (status 0x02 in the SRSP) and nothing goes on air', () => {
    const b = bench({ lose: AF_REGISTER });
    const h = b.driver.send(DEVICE.nwk, DEVICE.endpoint, OTA, bytes([1]), 1, b.sched.now());
    // The AF_REGISTER's SRSP never comes: it is given up after SREQ_TIMEOUT_MS, and the send goes.
    b.run(ZnpLimit.SREQ_TIMEOUT_MS);
    b.run();
    expect(b.received).toEqual([]);
    expect(b.take()).toEqual([err(RadioError.NO_SRSP, AF_REGISTER), confirm(h, 0x02)]);
  });

  test('sends go out one SREQ at a time, in order, each with its own confirm; a full driver says -1 and keeps nothing', () => {
    const b = bench();
    ready(b);
    const n = SLOTS;
    const ids = Array.from({ length: n + 1 }, (_, i) => i + 1);
    const handles = ids.slice(0, n).map((i) => b.driver.send(DEVICE.nwk, DEVICE.endpoint, OTA, bytes([i]), 1, b.sched.now()));
    expect(handles).toEqual(ids.slice(0, n).map((i) => i - 1));
    expect(b.driver.send(DEVICE.nwk, DEVICE.endpoint, OTA, bytes([n + 1]), 1, b.sched.now())).toBe(-1);
    expect(b.driver.lookup(DEVICE.nwk, b.sched.now())).toBe(-1);
    b.run();
    // Room again: the one refused is sent now, with the next handle.
    handles.push(b.driver.send(DEVICE.nwk, DEVICE.endpoint, OTA, bytes([n + 1]), 1, b.sched.now()));
    b.run();
    expect(b.maxInFlight()).toBe(1);
    expect(b.received.map((r) => r.data[0])).toEqual(ids);
    expect(b.take()).toEqual(handles.map((h) => confirm(h, 0)));
  });

  test('device frames arrive as messages: network address, source endpoint | cluster << 8, the ZCL frame', () => {
    const b = bench();
    ready(b);
    b.stick.fromDevice({ nwk: 0x1001, endpoint: 7 }, OTA, bytes([0x01, 0x05, 0x01]));
    b.run();
    expect(b.take()).toEqual([[RadioEv.Message, 0x1001, 7 | (OTA << 8), [0x01, 0x05, 0x01]]]);
  });

  test('device announces arrive with the EUI-64 in wire order', () => {
    const b = bench();
    ready(b);
    b.stick.announce(0x1001, '000d6f0000000001', 0x8e);
    b.run();
    expect(b.take()).toEqual([[RadioEv.Announce, 0x1001, 0, DEVICE_EUI_WIRE]]);
  });

  test('lookup asks the device at a network address over the air and reports its EUI-64', () => {
    const b = bench();
    ready(b);
    expect(b.driver.lookup(DEVICE.nwk, b.sched.now())).toBe(0);
    b.run();
    expect(b.take()).toEqual([[RadioEv.Address, DEVICE.nwk, 0, DEVICE_EUI_WIRE]]);
    expect(b.radio.stats().frames).toBe(2); // IEEE_addr_req there, IEEE_addr_rsp back
  });

  test('lookup of an address nobody has, or over a dead link: no answer and no error', () => {
    const b = bench();
    ready(b);
    b.driver.lookup(0x2222, b.sched.now());
    b.run();
    expect(b.take()).toEqual([]);
    const dead = bench({ lossRate: 1 });
    ready(dead);
    dead.driver.lookup(DEVICE.nwk, dead.sched.now());
    dead.run();
    expect(dead.take()).toEqual([]);
  });
});

describe('ZnpDriver, frame by frame', () => {
  test('the frames it writes are what herdsman reads: AF_REGISTER, AF_DATA_REQUEST, ZDO_IEEE_ADDR_REQ', () => {
    const herdsman = (raw: number[]) => {
      const buf = Buffer.from(raw);
      return ZpiObject.fromUnpiFrame(HerdsmanFrame.fromBuffer(buf[1], 4 + buf[1], buf)).payload as Record<string, unknown>;
    };
    const { d, raw, answer, written } = bare();
    d.tick(0);
    expect(herdsman(raw[0])).toMatchObject({ endpoint: 1, appprofid: 0x0109, appdeviceid: 0x0500, appnuminclusters: 1, appinclusterlist: [OTA], appnumoutclusters: 1, appoutclusterlist: [OTA] });
    expect(decodeAfRegister(written[0].data)).toEqual({ endpoint: 1, profileId: 0x0109, deviceId: 0x0500, deviceVersion: 0, latency: 0, inClusters: [OTA], outClusters: [OTA] });
    answer(srspOf(AF_REGISTER), [0]);
    const h = d.send(0xabcd, 9, 0x1234, bytes([5, 6, 7, 8]), 4, 1);
    expect(herdsman(raw[1])).toMatchObject({ dstaddr: 0xabcd, destendpoint: 9, srcendpoint: 1, clusterid: 0x1234, transid: h, options: 0, radius: 30, len: 4 });
    expect(Array.from(herdsman(raw[1]).data as Buffer)).toEqual([5, 6, 7, 8]);
    answer(srspOf(AF_DATA_REQUEST), [0]);
    d.lookup(0xbeef, 2);
    expect(commandOf(written[2])).toBe(ZDO_IEEE_ADDR_REQ);
    expect(decodeIeeeAddrReq(written[2].data)).toEqual({ shortAddr: 0xbeef, reqType: 0, startIndex: 0 });
    // herdsman sends this SREQ's payload as the ZDO request it builds.
    expect(Buffer.from(written[2].data).equals(Zdo.Buffalo.buildRequest(false, Zdo.ClusterId.IEEE_ADDRESS_REQUEST, 0xbeef, false, 0))).toBe(true);
  });

  test('send copies the data at once: the caller may reuse its buffer, even while the frame waits its turn', () => {
    const { d, answer, written } = bare();
    d.tick(0);
    const buf = bytes([1, 2, 3, 4, 5, 6]);
    const h = d.send(0x1001, 1, OTA, buf, 4, 0); // waits behind AF_REGISTER; only the first 4 bytes
    buf.fill(0xee);
    answer(srspOf(AF_REGISTER), [0]);
    const r = decodeAfDataRequest(written[1].data);
    expect(r.transId).toBe(h);
    expect(Array.from(r.data)).toEqual([1, 2, 3, 4]);
    // A frame written at once (nothing ahead of it) is a copy too.
    answer(srspOf(AF_DATA_REQUEST), [0]);
    buf.set([9, 8, 7]);
    d.send(0x1001, 1, OTA, buf, 3, 2);
    buf.fill(0);
    expect(Array.from(decodeAfDataRequest(written[2].data).data)).toEqual([9, 8, 7]);
  });

  test('a frame longer than MAX_SEND is refused with -2; MAX_SEND itself fits', () => {
    const { d, answer, written } = bare({ registered: true });
    expect(d.send(1, 1, OTA, new Uint8Array(ZnpLimit.MAX_SEND + 1), ZnpLimit.MAX_SEND + 1, 0)).toBe(-2);
    const big = Uint8Array.from({ length: ZnpLimit.MAX_SEND }, (_, i) => i);
    expect(d.send(1, 1, OTA, big, big.length, 0)).toBe(0);
    answer(srspOf(AF_DATA_REQUEST), [0]);
    expect(Array.from(decodeAfDataRequest(written[0].data).data)).toEqual(Array.from(big));
  });

  test('handles are the AF transaction id: a byte that wraps', () => {
    const { d, answer } = bare({ registered: true });
    const hs: number[] = [];
    for (let i = 0; i < 258; i++) {
      hs.push(d.send(DEVICE.nwk, 1, OTA, new Uint8Array(1), 1, 0));
      answer(srspOf(AF_DATA_REQUEST), [0]);
    }
    expect(hs.slice(254)).toEqual([254, 255, 0, 1]);
  });

  test('AF_DATA_CONFIRM names the handle and the status', () => {
    const { d, sink } = bare();
    d.onBytes(buildZnpFrame(AF_DATA_CONFIRM, encodeAfDataConfirm({ status: 0xcd, endpoint: 1, transId: 42 })), 0);
    expect(sink.take()).toEqual([confirm(42, 0xcd)]);
  });

  test('AF_INCOMING_MSG with the Z-Stack 3.x trailer and without it, as herdsman builds it and as we do', () => {
    fc.assert(
      fc.property(
        fc.record({ cluster: fc.integer({ min: 0, max: 0xffff }), src: fc.integer({ min: 0, max: 0xffff }), ep: fc.integer({ min: 0, max: 0xff }), data: fc.uint8Array({ maxLength: 200 }) }),
        fc.boolean(),
        (m, trailer) => {
          const { d, sink } = bare();
          const theirs = ZpiObject.createRequest(4, 'incomingMsg', {
            groupid: 0,
            clusterid: m.cluster,
            srcaddr: m.src,
            srcendpoint: m.ep,
            dstendpoint: 1,
            wasbroadcast: 0,
            linkquality: 99,
            securityuse: 0,
            timestamp: 123456,
            transseqnumber: 5,
            len: m.data.length,
            data: Buffer.from(m.data),
          }).unpiFrame.toBuffer();
          d.onBytes(new Uint8Array(theirs), 0);
          const ours = { groupId: 0, clusterId: m.cluster, srcAddr: m.src, srcEndpoint: m.ep, dstEndpoint: 1, wasBroadcast: 0, linkQuality: 9, securityUse: 0, timestamp: 1, transSeq: 2, data: m.data };
          d.onBytes(buildZnpFrame(AF_INCOMING_MSG, encodeAfIncomingMsg(trailer ? { ...ours, macSrcAddr: 0x4321, radius: 29 } : ours)), 0);
          const want: Ev = [RadioEv.Message, m.src, m.ep | (m.cluster << 8), Array.from(m.data)];
          expect(sink.take()).toEqual([want, want]);
        },
      ),
    );
  });

  test('data and EUIs are views of one buffer the driver keeps, not copies', () => {
    const { d, sink } = bare();
    d.onBytes(buildZnpFrame(ZDO_END_DEVICE_ANNCE_IND, encodeEndDeviceAnnce({ srcAddr: 1, nwkAddr: 2, eui: DEVICE_EUI, capabilities: 0 })), 0);
    d.onBytes(buildZnpFrame(AF_INCOMING_MSG, encodeAfIncomingMsg({ groupId: 0, clusterId: OTA, srcAddr: 2, srcEndpoint: 1, dstEndpoint: 1, wasBroadcast: 0, linkQuality: 0, securityUse: 0, timestamp: 0, transSeq: 0, data: bytes([1, 2, 3]) })), 0);
    const [eui, zcl] = sink.views;
    expect(eui.length).toBe(8);
    expect(zcl.length).toBe(3);
    expect(eui.buffer).toBe(zcl.buffer);
    expect(eui.buffer.byteLength).toBe(255); // 5 + 250: the largest ZNP frame
  });

  test('a failed ZDO_IEEE_ADDR_RSP tells the hub nothing', () => {
    const { d, sink } = bare();
    d.onBytes(buildZnpFrame(ZDO_IEEE_ADDR_RSP, encodeIeeeAddrRsp({ status: 0x81, eui: DEVICE_EUI, nwkAddr: 5, startIndex: 0, assocDevList: [] })), 0);
    d.onBytes(buildZnpFrame(ZDO_IEEE_ADDR_RSP, encodeIeeeAddrRsp({ status: 0, eui: DEVICE_EUI, nwkAddr: 5, startIndex: 0, assocDevList: [1, 2] })), 0);
    expect(sink.take()).toEqual([[RadioEv.Address, 5, 0, DEVICE_EUI_WIRE]]);
  });

  test('a lookup refused by the stick is LOOKUP_REFUSED with the status', () => {
    const { d, sink, answer } = bare({ registered: true });
    d.lookup(0x1001, 0);
    answer(srspOf(ZDO_IEEE_ADDR_REQ), [0x02]);
    expect(sink.take()).toEqual([err(RadioError.LOOKUP_REFUSED, 0x02)]);
  });

  test('an SREQ that is never answered times out with NO_SRSP and the queue moves on', () => {
    const { d, sink, cmds } = bare();
    d.tick(0);
    d.send(DEVICE.nwk, 1, OTA, new Uint8Array(1), 1, 0);
    expect(cmds()).toEqual([AF_REGISTER]); // the data request waits for the register's SRSP
    d.tick(1999);
    expect(sink.take()).toEqual([]);
    d.tick(2000);
    expect(sink.take()).toEqual([err(RadioError.NO_SRSP, AF_REGISTER)]);
    expect(cmds()).toEqual([AF_REGISTER, AF_DATA_REQUEST]);
    d.tick(4000);
    expect(sink.take()).toEqual([err(RadioError.NO_SRSP, AF_DATA_REQUEST)]);
  });

  test.each([0, WINDOW, 8])('a dumb stick fills every slot (window %i, and one for a ZDO request); a timeout frees one', (window) => {
    const slots = window + 1;
    const { d, sink } = bare({ registered: true, window });
    for (let i = 0; i < slots; i++) expect(d.send(1, 1, OTA, new Uint8Array(1), 1, 0)).toBe(i);
    expect(d.send(1, 1, OTA, new Uint8Array(1), 1, 0)).toBe(-1);
    d.tick(2000);
    expect(sink.take()).toEqual([err(RadioError.NO_SRSP, AF_DATA_REQUEST)]);
    expect(d.lookup(1, 2000)).toBe(0);
    expect(d.send(1, 1, OTA, new Uint8Array(1), 1, 2000)).toBe(-1);
  });

  test('an RPC error answers the outstanding request: reported with the command it names, and the next request goes out', () => {
    const { d, sink, cmds, answer } = bare();
    d.tick(0);
    d.send(DEVICE.nwk, 1, OTA, new Uint8Array(1), 1, 0);
    answer(RPC_ERROR, [0x02, 0x24, 0x00]);
    expect(sink.take()).toEqual([err(RadioError.RPC_ERROR, AF_REGISTER)]);
    expect(cmds()).toEqual([AF_REGISTER, AF_DATA_REQUEST]);
    // One naming something else is reported and leaves the outstanding request alone.
    answer(RPC_ERROR, [0x02, 0x21, 0x02]);
    expect(sink.take()).toEqual([err(RadioError.RPC_ERROR, 0x2102)]);
    answer(srspOf(AF_DATA_REQUEST), [0x01]);
    expect(sink.take()).toEqual([confirm(0, 0x01)]);
  });

  test('an SRSP nobody asked for is UNEXPECTED_SRSP; one for another command leaves the outstanding request waiting', () => {
    const { d, sink, answer } = bare();
    answer(srspOf(AF_DATA_REQUEST), [0]);
    expect(sink.take()).toEqual([err(RadioError.UNEXPECTED_SRSP, 0x6401)]);
    d.tick(0);
    answer(srspOf(AF_DATA_REQUEST), [0]);
    expect(sink.take()).toEqual([err(RadioError.UNEXPECTED_SRSP, 0x6401)]);
    answer(srspOf(AF_REGISTER), [0]);
    expect(sink.take()).toEqual([]);
  });

  test('a failed registration is REGISTER_FAILED with its status', () => {
    const { d, sink, answer } = bare();
    d.tick(0);
    answer(srspOf(AF_REGISTER), [0x01]);
    expect(sink.take()).toEqual([err(RadioError.REGISTER_FAILED, 0x01)]);
  });

  test('a reset drops what was outstanding (a data request: LOST_IN_RESET), and AF_REGISTER goes ahead of what waits', () => {
    const { d, sink, cmds, answer, written } = bare();
    d.tick(0);
    answer(srspOf(AF_REGISTER), [0]);
    const h1 = d.send(0x1001, 1, OTA, bytes([1]), 1, 1);
    const h2 = d.send(0x1001, 1, OTA, bytes([2]), 1, 1);
    d.onBytes(buildZnpFrame(SYS_RESET_IND, encodeSysResetInd({ reason: 1, transportRev: 2, productId: 1, majorRel: 2, minorRel: 7, hwRev: 1 })), 2);
    expect(sink.take()).toEqual([
      [RadioEv.Reset, 0, 1, null],
      err(RadioError.LOST_IN_RESET, h1),
    ]);
    expect(cmds()).toEqual([AF_REGISTER, AF_DATA_REQUEST, AF_REGISTER]);
    answer(srspOf(AF_REGISTER), [0xb8]);
    expect(cmds()).toEqual([AF_REGISTER, AF_DATA_REQUEST, AF_REGISTER, AF_DATA_REQUEST]);
    expect(decodeAfDataRequest(written[3].data).transId).toBe(h2);
    // A lookup lost in a reset is dropped quietly, and the SRSP nobody waits for any more is unexpected.
    answer(srspOf(AF_DATA_REQUEST), [0]);
    d.lookup(5, 3);
    d.onBytes(buildZnpFrame(SYS_RESET_IND, encodeSysResetInd({ reason: 0, transportRev: 2, productId: 1, majorRel: 2, minorRel: 7, hwRev: 1 })), 4);
    expect(sink.take()).toEqual([[RadioEv.Reset, 0, 0, null]]);
    answer(srspOf(ZDO_IEEE_ADDR_REQ), [0]);
    expect(sink.take()).toEqual([err(RadioError.UNEXPECTED_SRSP, 0x6501)]);
  });

  test('a send from the sink as it hears of a reset still waits behind AF_REGISTER', () => {
    const { d, sink, cmds, answer } = bare();
    d.tick(0);
    answer(srspOf(AF_REGISTER), [0]);
    sink.onEvent = (ev) => {
      if (ev === RadioEv.Reset) d.send(0x1001, 1, OTA, bytes([1]), 1, 2);
    };
    d.onBytes(buildZnpFrame(SYS_RESET_IND, new Uint8Array(6)), 2);
    expect(cmds()).toEqual([AF_REGISTER, AF_REGISTER]);
    answer(srspOf(AF_REGISTER), [0]);
    expect(cmds()).toEqual([AF_REGISTER, AF_REGISTER, AF_DATA_REQUEST]);
  });

  test('a corrupted frame is BAD_FCS, and the next frame is still understood', () => {
    const { d, sink, cmds } = bare();
    d.tick(0);
    d.send(1, 1, OTA, bytes([1]), 1, 0);
    const bad = buildZnpFrame(srspOf(AF_REGISTER), encodeStatus(0));
    bad[4] ^= 1;
    const good = buildZnpFrame(srspOf(AF_REGISTER), encodeStatus(0));
    d.onBytes(Uint8Array.from([...bad, ...good]), 1);
    expect(sink.take()).toEqual([err(RadioError.BAD_FCS, 0x6400)]);
    expect(cmds()).toEqual([AF_REGISTER, AF_DATA_REQUEST]); // the register was answered
  });

  test('a frame too short for its command is BAD_FRAME naming it; an SRSP without its status still ends its request', () => {
    const cases: [number, number][] = [
      [AF_INCOMING_MSG, 17],
      [AF_DATA_CONFIRM, 3],
      [ZDO_END_DEVICE_ANNCE_IND, 13],
      [ZDO_IEEE_ADDR_RSP, 13],
      [SYS_RESET_IND, 6],
      [RPC_ERROR, 3],
    ];
    for (const [cmd, min] of cases) {
      const { d, sink } = bare();
      for (let n = 0; n < min; n++) d.onBytes(buildZnpFrame(cmd, new Uint8Array(n)), 0);
      expect(sink.take()).toEqual(Array.from({ length: min }, () => err(RadioError.BAD_FRAME, cmd)));
    }
    // AF_INCOMING_MSG whose len runs past the frame.
    const { d, sink, answer, cmds } = bare();
    const m = encodeAfIncomingMsg({ groupId: 0, clusterId: OTA, srcAddr: 2, srcEndpoint: 1, dstEndpoint: 1, wasBroadcast: 0, linkQuality: 0, securityUse: 0, timestamp: 0, transSeq: 0, data: bytes([1, 2, 3]) });
    d.onBytes(buildZnpFrame(AF_INCOMING_MSG, m.subarray(0, m.length - 1)), 0);
    expect(sink.take()).toEqual([err(RadioError.BAD_FRAME, AF_INCOMING_MSG)]);
    d.tick(0);
    d.send(1, 1, OTA, bytes([1]), 1, 0);
    answer(srspOf(AF_REGISTER), []);
    expect(sink.take()).toEqual([err(RadioError.BAD_FRAME, 0x6400)]);
    expect(cmds()).toEqual([AF_REGISTER, AF_DATA_REQUEST]);
  });

  test('other frames (indications it does not read, SREQs) are ignored', () => {
    const { d, sink } = bare();
    d.onBytes(buildZnpFrame(0x45c0, bytes([1, 2, 3])), 0); // ZDO_STATE_CHANGE_IND
    d.onBytes(buildZnpFrame(AF_DATA_REQUEST, bytes([1])), 0);
    expect(sink.take()).toEqual([]);
  });
});

// ---- byte streams: garbage, split chunks, and the old frame reader as the model of resynchronisation ----

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const eui = fc.stringMatching(/^[0-9A-F]{16}$/);
const noSof = fc.uint8Array({ maxLength: 40 }).map((b) => b.map((x) => (x === 0xfe ? 0 : x)));
/** Frames a stick sends up that the driver reads, all well formed, each with the event it must give. */
const upFrame: fc.Arbitrary<{ frame: Uint8Array; ev: Ev }> = fc.oneof(
  fc.record({ src: u16, ep: u8, cluster: u16, data: fc.uint8Array({ maxLength: 230 }), trailer: fc.boolean() }).map((m) => {
    const msg = { groupId: 0, clusterId: m.cluster, srcAddr: m.src, srcEndpoint: m.ep, dstEndpoint: 1, wasBroadcast: 0, linkQuality: 1, securityUse: 0, timestamp: 0, transSeq: 0, data: m.data };
    return {
      frame: buildZnpFrame(AF_INCOMING_MSG, encodeAfIncomingMsg(m.trailer ? { ...msg, macSrcAddr: 1, radius: 2 } : msg)),
      ev: [RadioEv.Message, m.src, m.ep | (m.cluster << 8), Array.from(m.data)] as Ev,
    };
  }),
  fc.record({ status: u8, transId: u8 }).map((c) => ({ frame: buildZnpFrame(AF_DATA_CONFIRM, encodeAfDataConfirm({ ...c, endpoint: 1 })), ev: confirm(c.transId, c.status) })),
  fc.record({ nwk: u16, eui }).map((a) => ({
    frame: buildZnpFrame(ZDO_END_DEVICE_ANNCE_IND, encodeEndDeviceAnnce({ srcAddr: a.nwk, nwkAddr: a.nwk, eui: a.eui, capabilities: 0x8e })),
    ev: [RadioEv.Announce, a.nwk, 0, Array.from(Buffer.from(a.eui, 'hex').reverse())] as Ev,
  })),
);

/** Feeds `stream` to the driver cut at the given points. */
function feed(d: ZnpDriver, stream: Uint8Array, cuts: number[]): void {
  const points = [0, ...cuts.map((c) => c % (stream.length + 1)).sort((a, b) => a - b), stream.length];
  for (let i = 1; i < points.length; i++) d.onBytes(stream.slice(points[i - 1], points[i]), 0);
}

function concat(parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => Array.from(p)));
}

/** What a driver with nothing outstanding must say for a frame, read with the znp-commands decoders. */
function modelEvents(f: ZnpFrame): Ev[] {
  const cmd = commandOf(f);
  try {
    switch (cmd) {
      case AF_INCOMING_MSG: {
        const m = decodeAfIncomingMsg(f.data);
        return [[RadioEv.Message, m.srcAddr, m.srcEndpoint | (m.clusterId << 8), Array.from(m.data)]];
      }
      case AF_DATA_CONFIRM: {
        const c = decodeAfDataConfirm(f.data);
        return [confirm(c.transId, c.status)];
      }
      case ZDO_END_DEVICE_ANNCE_IND: {
        const a = decodeEndDeviceAnnce(f.data);
        return [[RadioEv.Announce, a.nwkAddr, 0, Array.from(f.data.subarray(4, 12))]];
      }
      case ZDO_IEEE_ADDR_RSP: {
        // The fixed part (13 bytes) must be there; the children's list after it is not read.
        if (f.data.length < 13) throw new Error('short');
        const a = decodeIeeeAddrRsp(Uint8Array.from([...f.data.subarray(0, 12), 0]));
        return a.status === 0 ? [[RadioEv.Address, a.nwkAddr, 0, Array.from(f.data.subarray(1, 9))]] : [];
      }
      case SYS_RESET_IND:
        return [[RadioEv.Reset, 0, decodeSysResetInd(f.data).reason, null]];
      case RPC_ERROR: {
        const e = decodeRpcError(f.data);
        return [err(RadioError.RPC_ERROR, (e.reqCmd0 << 8) | e.reqCmd1)];
      }
    }
  } catch {
    return [err(RadioError.BAD_FRAME, cmd)];
  }
  return frameType(f.cmd0) === TYPE_SRSP ? [err(RadioError.UNEXPECTED_SRSP, cmd)] : [];
}

describe('ZnpDriver reading a byte stream', () => {
  test('valid frames between garbage, cut anywhere, are all delivered, in order, and nothing else', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(noSof, upFrame), { maxLength: 8 }), noSof, fc.array(fc.nat(), { maxLength: 12 }), (parts, tail, cuts) => {
        const { d, sink } = bare();
        feed(d, concat([...parts.flatMap(([junk, f]) => [junk, f.frame]), tail]), cuts);
        expect(sink.evs).toEqual(parts.map(([, f]) => f.ev));
      }),
    );
  });

  test('any bytes, cut anywhere, never throw, and mean what the old frame reader and decoders say they mean', () => {
    // Garbage here may hold SOFs and look like frames; frames and bits of frames are mixed in.
    const chunk = fc.oneof(
      fc.uint8Array({ maxLength: 60 }),
      upFrame.map((f) => f.frame),
      fc.tuple(upFrame, fc.nat()).map(([f, n]) => f.frame.subarray(0, n % (f.frame.length + 1))),
      fc.record({ cmd0: u8, cmd1: u8, data: fc.uint8Array({ maxLength: 30 }) }).map((f) => buildZnpFrame((f.cmd0 << 8) | f.cmd1, f.data)),
      fc.constantFrom(Uint8Array.of(0xfe), Uint8Array.of(0xfe, 0xff), Uint8Array.of(0xfe, MAX_DATA)),
    );
    fc.assert(
      fc.property(fc.array(chunk, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 12 }), (chunks, cuts) => {
        const stream = concat(chunks);
        const { d, sink } = bare();
        expect(() => feed(d, stream, cuts)).not.toThrow();
        const reader = new ZnpFrameReader();
        const frames = reader.push(stream);
        const want = frames.flatMap(modelEvents);
        const got = sink.evs.filter((e) => !(e[0] === RadioEv.Error && e[1] === RadioError.BAD_FCS));
        expect(got).toEqual(want);
        expect(sink.evs.length - got.length).toBe(reader.stats.badFcs);
      }),
      { numRuns: 300 },
    );
  });

  test('the largest frame (250 bytes of data) is read whole, in one chunk with others, or a byte at a time', () => {
    const data = Uint8Array.from({ length: 230 }, (_, i) => i);
    const msg = { groupId: 0, clusterId: OTA, srcAddr: 7, srcEndpoint: 1, dstEndpoint: 1, wasBroadcast: 0, linkQuality: 1, securityUse: 0, timestamp: 0, transSeq: 0, data, macSrcAddr: 7, radius: 1 };
    const f = buildZnpFrame(AF_INCOMING_MSG, encodeAfIncomingMsg(msg));
    expect(f.length).toBe(5 + MAX_DATA);
    const want: Ev = [RadioEv.Message, 7, 1 | (OTA << 8), Array.from(data)];
    const { d, sink } = bare();
    d.onBytes(concat([bytes([1, 2, 0xfe]), f, f, bytes([0xfe, 0x03]), f]), 0);
    // FE 03 swallows the next frame's FE FA as its CMD0 CMD1 and fails its FCS; only its SOF is dropped.
    expect(sink.take()).toEqual([want, want, err(RadioError.BAD_FCS, 0xfefa), want]);
    for (let i = 0; i < f.length; i++) d.onBytes(f.subarray(i, i + 1), 0);
    expect(sink.take()).toEqual([want]);
  });

  test('a long run of noise then a frame: the frame is found', () => {
    const { d, sink } = bare();
    const noise = Uint8Array.from({ length: 5000 }, (_, i) => (i * 131 + 7) & 0xff);
    d.onBytes(noise, 0);
    sink.take();
    // Whatever partial frame the noise left is given up once its LEN runs out; 260 zeros then flush it.
    d.onBytes(new Uint8Array(260), 0);
    sink.take();
    d.onBytes(buildZnpFrame(AF_DATA_CONFIRM, encodeAfDataConfirm({ status: 0, endpoint: 1, transId: 9 })), 0);
    expect(sink.take()).toEqual([confirm(9, 0)]);
  });
});

describe('SimZnpStick', () => {
  test('answers an SREQ it does not implement with an RPC error naming it', () => {
    const out: Uint8Array[] = [];
    const stick = new SimZnpStick({ write: (b) => out.push(b), radio: new RadioModel(), scheduler: new ManualScheduler(), devices: () => [] });
    stick.onBytes(buildZnpFrame(0x210f, new Uint8Array(0))); // SYS_STACK_TUNE
    const [f] = new ZnpFrameReader().push(out[0]);
    expect(commandOf(f)).toBe(RPC_ERROR);
    expect(decodeRpcError(f.data)).toEqual({ errorCode: 0x02, reqCmd0: 0x21, reqCmd1: 0x0f });
  });
});
