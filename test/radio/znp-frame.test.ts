import fc from 'fast-check';
import {
  AfIncomingMsg,
  decodeAfDataConfirm,
  decodeAfDataRequest,
  decodeAfIncomingMsg,
  decodeAfRegister,
  decodeEndDeviceAnnce,
  decodeIeeeAddrReq,
  decodeIeeeAddrRsp,
  decodePingResponse,
  decodeRpcError,
  decodeStatus,
  decodeSysResetInd,
  encodeAfDataConfirm,
  encodeAfDataRequest,
  encodeAfIncomingMsg,
  encodeAfRegister,
  encodeEndDeviceAnnce,
  encodeIeeeAddrReq,
  encodeIeeeAddrRsp,
  encodePingResponse,
  encodeRpcError,
  encodeStatus,
  encodeSysResetInd,
} from '../../firmware/radio/znp-commands';
import {
  AF_DATA_REQUEST,
  AF_INCOMING_MSG,
  buildZnpFrame,
  commandOf,
  MAX_DATA,
  SYS_PING,
  ZDO_END_DEVICE_ANNCE_IND,
  ZDO_IEEE_ADDR_REQ,
  ZDO_IEEE_ADDR_RSP,
  ZnpFrame,
  ZnpFrameReader,
} from '../../firmware/radio/znp-frame';
// Independent implementation of the same protocol (FACTS §4, §7).
import { Frame as HerdsmanFrame } from 'zigbee-herdsman/dist/adapter/z-stack/unpi';
import { ZpiObject } from 'zigbee-herdsman/dist/adapter/z-stack/znp';
import * as Zdo from 'zigbee-herdsman/dist/zspec/zdo';

const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const bytes = (max: number) => fc.uint8Array({ maxLength: max });
const eui = fc.stringMatching(/^[0-9A-F]{16}$/);
const incoming = fc.record({
  groupId: u16,
  clusterId: u16,
  srcAddr: u16,
  srcEndpoint: u8,
  dstEndpoint: u8,
  wasBroadcast: u8,
  linkQuality: u8,
  securityUse: u8,
  timestamp: u32,
  transSeq: u8,
  data: bytes(200),
});
const frameArb = fc.record({ cmd0: u8, cmd1: u8, data: bytes(MAX_DATA) });
const ieeeAddrReq = fc.record({ shortAddr: u16, reqType: fc.integer({ min: 0, max: 1 }), startIndex: u8 });
// 13 fixed bytes + 2 per associated device must fit one frame (MAX_DATA).
const ieeeAddrRsp = fc.record({ status: u8, eui, nwkAddr: u16, startIndex: u8, assocDevList: fc.array(u16, { maxLength: 100 }) });

function toPlain(f: ZnpFrame) {
  return { cmd0: f.cmd0, cmd1: f.cmd1, data: Array.from(f.data) };
}

/** Feeds `stream` to a reader cut at the given points. */
function readInChunks(stream: Uint8Array, cuts: number[]): { frames: ZnpFrame[]; reader: ZnpFrameReader } {
  const reader = new ZnpFrameReader();
  const points = [0, ...cuts.map((c) => c % (stream.length + 1)).sort((a, b) => a - b), stream.length];
  const frames: ZnpFrame[] = [];
  for (let i = 1; i < points.length; i++) frames.push(...reader.push(stream.slice(points[i - 1], points[i])));
  return { frames, reader };
}

function concat(parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => Array.from(p)));
}

describe('ZNP frames', () => {
  test('SYS_PING is FE 00 21 01 20 (FCS = XOR of LEN, CMD0, CMD1)', () => {
    expect(Array.from(buildZnpFrame(SYS_PING, new Uint8Array(0)))).toEqual([0xfe, 0x00, 0x21, 0x01, 0x20]);
  });

  test('frames too long for Z-Stack are refused', () => {
    expect(() => buildZnpFrame(AF_DATA_REQUEST, new Uint8Array(MAX_DATA + 1))).toThrow(/too long/);
  });

  test('any frames, cut anywhere, come out whole and in order', () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), (frames, cuts) => {
        const stream = concat(frames.map((f) => buildZnpFrame((f.cmd0 << 8) | f.cmd1, f.data)));
        const { frames: got, reader } = readInChunks(stream, cuts);
        expect(got.map(toPlain)).toEqual(frames.map(toPlain));
        expect(reader.stats).toEqual({ frames: frames.length, garbageBytes: 0, badFcs: 0 });
      }),
    );
  });

  test('garbage between frames is skipped and counted', () => {
    const noSof = fc.uint8Array({ maxLength: 20 }).map((b) => b.map((x) => (x === 0xfe ? 0 : x)));
    fc.assert(
      fc.property(fc.array(fc.tuple(noSof, frameArb), { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 6 }), (parts, cuts) => {
        const stream = concat(parts.flatMap(([junk, f]) => [junk, buildZnpFrame((f.cmd0 << 8) | f.cmd1, f.data)]));
        const { frames, reader } = readInChunks(stream, cuts);
        expect(frames.map(toPlain)).toEqual(parts.map(([, f]) => toPlain(f)));
        expect(reader.stats.garbageBytes).toBe(parts.reduce((n, [junk]) => n + junk.length, 0));
      }),
    );
  });

  test('a frame with a bad FCS is dropped and the next one still read', () => {
    const a = buildZnpFrame(AF_DATA_REQUEST, Uint8Array.from([1, 2, 3, 4]));
    a[5] ^= 0x40; // corrupt a data byte
    const b = buildZnpFrame(SYS_PING, new Uint8Array(0));
    const reader = new ZnpFrameReader();
    const got = reader.push(concat([a, b]));
    expect(got.map(commandOf)).toEqual([SYS_PING]);
    expect(reader.stats.badFcs).toBe(1);
  });

  test('a truncated frame followed by a good one: resync finds the good one inside it', () => {
    // FE 03 21 01 is the start of a frame that never finished; its LEN swallows the next frame's start.
    const good = buildZnpFrame(SYS_PING, new Uint8Array(0));
    const reader = new ZnpFrameReader();
    const got = reader.push(concat([Uint8Array.from([0xfe, 0x03, 0x21, 0x01]), good]));
    expect(got.map(commandOf)).toEqual([SYS_PING]);
    expect(reader.stats.badFcs).toBe(1);
  });

  test('an SOF with an impossible length is noise', () => {
    const reader = new ZnpFrameReader();
    const got = reader.push(concat([Uint8Array.from([0xfe, 0xff]), buildZnpFrame(SYS_PING, new Uint8Array(0))]));
    expect(got.map(commandOf)).toEqual([SYS_PING]);
    expect(reader.stats.garbageBytes).toBe(2);
  });

  test('a partial frame waits for the rest', () => {
    const f = buildZnpFrame(AF_DATA_REQUEST, Uint8Array.from([9, 9, 9]));
    const reader = new ZnpFrameReader();
    expect(reader.push(f.subarray(0, 6))).toEqual([]);
    expect(reader.push(f.subarray(6)).map(toPlain)).toEqual([{ cmd0: 0x24, cmd1: 0x01, data: [9, 9, 9] }]);
  });

  test('agrees with zigbee-herdsman on frame bytes', () => {
    fc.assert(
      fc.property(frameArb, (f) => {
        const ours = buildZnpFrame((f.cmd0 << 8) | f.cmd1, f.data);
        const theirs = new HerdsmanFrame(f.cmd0 >> 5, f.cmd0 & 0x1f, f.cmd1, Buffer.from(f.data)).toBuffer();
        expect(Buffer.from(ours).equals(theirs)).toBe(true);
      }),
    );
  });
});

describe('ZNP payloads round-trip', () => {
  test('status, ping, reset ind, RPC error', () => {
    fc.assert(
      fc.property(u8, u16, fc.record({ reason: u8, transportRev: u8, productId: u8, majorRel: u8, minorRel: u8, hwRev: u8 }), (s, caps, ind) => {
        expect(decodeStatus(encodeStatus(s))).toBe(s);
        expect(decodePingResponse(encodePingResponse(caps))).toBe(caps);
        expect(decodeSysResetInd(encodeSysResetInd(ind))).toEqual(ind);
        const e = { errorCode: s, reqCmd0: ind.reason, reqCmd1: ind.hwRev };
        expect(decodeRpcError(encodeRpcError(e))).toEqual(e);
      }),
    );
  });

  test('AF_REGISTER', () => {
    const reg = fc.record({
      endpoint: u8,
      profileId: u16,
      deviceId: u16,
      deviceVersion: u8,
      latency: u8,
      inClusters: fc.array(u16, { maxLength: 20 }),
      outClusters: fc.array(u16, { maxLength: 20 }),
    });
    fc.assert(fc.property(reg, (r) => expect(decodeAfRegister(encodeAfRegister(r))).toEqual(r)));
  });

  test('AF_DATA_REQUEST and AF_DATA_CONFIRM', () => {
    const req = fc.record({ dstAddr: u16, dstEndpoint: u8, srcEndpoint: u8, clusterId: u16, transId: u8, options: u8, radius: u8, data: bytes(200) });
    fc.assert(
      fc.property(req, fc.record({ status: u8, endpoint: u8, transId: u8 }), (r, c) => {
        const back = decodeAfDataRequest(encodeAfDataRequest(r));
        expect({ ...back, data: Array.from(back.data) }).toEqual({ ...r, data: Array.from(r.data) });
        expect(decodeAfDataConfirm(encodeAfDataConfirm(c))).toEqual(c);
      }),
    );
  });

  test('AF_INCOMING_MSG with the Z-Stack 3.x trailer (20 + len bytes) and without it (17 + len)', () => {
    fc.assert(
      fc.property(incoming, u16, u8, (m, mac, radius) => {
        const plain = (x: AfIncomingMsg) => ({ ...x, data: Array.from(x.data) });
        const old = encodeAfIncomingMsg(m);
        expect(old.length).toBe(17 + m.data.length);
        expect(plain(decodeAfIncomingMsg(old))).toEqual(plain(m));
        const z3 = encodeAfIncomingMsg({ ...m, macSrcAddr: mac, radius });
        expect(z3.length).toBe(20 + m.data.length);
        expect(plain(decodeAfIncomingMsg(z3))).toEqual({ ...plain(m), macSrcAddr: mac, radius });
      }),
    );
  });

  test('ZDO_IEEE_ADDR_REQ and ZDO_IEEE_ADDR_RSP (startIndex before numAssocDev, as Z-Stack sends it)', () => {
    fc.assert(fc.property(ieeeAddrReq, (r) => expect(decodeIeeeAddrReq(encodeIeeeAddrReq(r))).toEqual(r)));
    fc.assert(fc.property(ieeeAddrRsp, (r) => expect(decodeIeeeAddrRsp(encodeIeeeAddrRsp(r))).toEqual(r)));
    const wire = encodeIeeeAddrRsp({ status: 0, eui: '000D6F0000000002', nwkAddr: 0x1002, startIndex: 7, assocDevList: [0x1234] });
    expect(Array.from(wire)).toEqual([0, 0x02, 0, 0, 0, 0, 0x6f, 0x0d, 0, 0x02, 0x10, 7, 1, 0x34, 0x12]);
  });

  test('ZDO_END_DEVICE_ANNCE_IND carries the EUI-64 little-endian on the wire', () => {
    const a = { srcAddr: 0x1234, nwkAddr: 0x1234, eui: '000D6F0000000001', capabilities: 0x8e };
    const wire = encodeEndDeviceAnnce(a);
    expect(Array.from(wire.subarray(4, 12))).toEqual([0x01, 0, 0, 0, 0, 0x6f, 0x0d, 0]);
    fc.assert(
      fc.property(fc.record({ srcAddr: u16, nwkAddr: u16, eui, capabilities: u8 }), (r) => expect(decodeEndDeviceAnnce(encodeEndDeviceAnnce(r))).toEqual(r)),
    );
  });
});

describe('ZNP payloads agree with zigbee-herdsman', () => {
  function herdsmanParse(frame: Uint8Array): Record<string, unknown> {
    const buf = Buffer.from(frame);
    return ZpiObject.fromUnpiFrame(HerdsmanFrame.fromBuffer(buf[1], 4 + buf[1], buf)).payload as Record<string, unknown>;
  }

  test('herdsman reads our AF_DATA_REQUEST', () => {
    const req = fc.record({ dstAddr: u16, dstEndpoint: u8, srcEndpoint: u8, clusterId: u16, transId: u8, options: u8, radius: u8, data: bytes(200) });
    fc.assert(
      fc.property(req, (r) => {
        const p = herdsmanParse(buildZnpFrame(AF_DATA_REQUEST, encodeAfDataRequest(r)));
        expect(p).toMatchObject({
          dstaddr: r.dstAddr,
          destendpoint: r.dstEndpoint,
          srcendpoint: r.srcEndpoint,
          clusterid: r.clusterId,
          transid: r.transId,
          options: r.options,
          radius: r.radius,
          len: r.data.length,
        });
        expect(Array.from(p.data as Buffer)).toEqual(Array.from(r.data));
      }),
    );
  });

  test('herdsman reads our AF_INCOMING_MSG, trailer or not', () => {
    fc.assert(
      fc.property(incoming, fc.boolean(), (m, trailer) => {
        const p = herdsmanParse(buildZnpFrame(AF_INCOMING_MSG, encodeAfIncomingMsg(trailer ? { ...m, macSrcAddr: 0x4321, radius: 29 } : m)));
        expect(p).toMatchObject({ groupid: m.groupId, clusterid: m.clusterId, srcaddr: m.srcAddr, linkquality: m.linkQuality, timestamp: m.timestamp, transseqnumber: m.transSeq });
        expect(Array.from(p.data as Buffer)).toEqual(Array.from(m.data));
      }),
    );
  });

  test('we read herdsman-built AF_DATA_REQUEST', () => {
    const f = ZpiObject.createRequest(4, 'dataRequest', {
      dstaddr: 0x1001,
      destendpoint: 1,
      srcendpoint: 1,
      clusterid: 0x0019,
      transid: 7,
      options: 0,
      radius: 30,
      len: 3,
      data: Buffer.from([1, 2, 3]),
    }).unpiFrame.toBuffer();
    const [frame] = new ZnpFrameReader().push(new Uint8Array(f));
    expect(commandOf(frame)).toBe(AF_DATA_REQUEST);
    const r = decodeAfDataRequest(frame.data);
    expect({ ...r, data: Array.from(r.data) }).toEqual({ dstAddr: 0x1001, dstEndpoint: 1, srcEndpoint: 1, clusterId: 0x19, transId: 7, options: 0, radius: 30, data: [1, 2, 3] });
  });

  test('our ZDO_IEEE_ADDR_REQ payload is what herdsman sends to a Z-Stack stick', () => {
    fc.assert(
      fc.property(ieeeAddrReq, (r) => {
        const theirs = Zdo.Buffalo.buildRequest(false, Zdo.ClusterId.IEEE_ADDRESS_REQUEST, r.shortAddr, r.reqType === 1, r.startIndex);
        expect(Buffer.from(encodeIeeeAddrReq(r)).equals(theirs)).toBe(true);
      }),
    );
    expect(commandOf(new ZnpFrameReader().push(buildZnpFrame(ZDO_IEEE_ADDR_REQ, new Uint8Array(4)))[0])).toBe(0x2501);
  });

  test('herdsman reads our ZDO_IEEE_ADDR_RSP', () => {
    fc.assert(
      fc.property(ieeeAddrRsp, (r) => {
        const [status, rsp] = herdsmanParse(buildZnpFrame(ZDO_IEEE_ADDR_RSP, encodeIeeeAddrRsp(r))).zdo as [number, Record<string, unknown> | undefined];
        expect(status).toBe(r.status);
        // herdsman reads the body of a successful answer only.
        if (r.status === 0) expect(rsp).toEqual({ eui64: '0x' + r.eui.toLowerCase(), nwkAddress: r.nwkAddr, startIndex: r.startIndex, assocDevList: r.assocDevList });
      }),
    );
  });

  test('herdsman reads our end-device announce', () => {
    const p = herdsmanParse(buildZnpFrame(ZDO_END_DEVICE_ANNCE_IND, encodeEndDeviceAnnce({ srcAddr: 0x1001, nwkAddr: 0x1001, eui: '000D6F0000000002', capabilities: 0x8e })));
    expect(p.srcaddr).toBe(0x1001);
    expect(JSON.stringify(p.zdo)).toContain('0x000d6f0000000002');
  });
});
