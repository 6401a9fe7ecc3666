import { RadioEvent } from '../../firmware/ports/radio';
import { decodeRpcError, encodeStatus } from '../../firmware/radio/znp-commands';
import { ZnpDriver } from '../../firmware/radio/znp-driver';
import { AF_REGISTER, buildZnpFrame, commandOf, frameType, RPC_ERROR, srspOf, TYPE_SREQ, TYPE_SRSP, ZDO_IEEE_ADDR_REQ, ZnpFrameReader } from '../../firmware/radio/znp-frame';
import { RadioModel } from '../../host-tools/sim/radio-model';
import { ManualScheduler } from '../../host-tools/sim/scheduler';
import { SimZnpStick, StickDevice } from '../../host-tools/sim/znp-stick';

const OTA = 0x0019;
const DEVICE = { nwk: 0x1001, endpoint: 1 };
const DEVICE_EUI = '000D6F0000000001';

/** Driver and stick joined by a virtual UART whose bytes arrive on the next scheduler turn, as a serial port's would. */
function bench(opts: { lossRate?: number } = {}) {
  const sched = new ManualScheduler();
  const radio = new RadioModel({ seed: 7, lossRate: opts.lossRate });
  const received: { clusterId: number; data: number[] }[] = [];
  const device: StickDevice = { ...DEVICE, eui: DEVICE_EUI, receive: (clusterId, data) => received.push({ clusterId, data: Array.from(data) }) };
  const events: RadioEvent[] = [];
  // What crossed the UART, to check the one-SREQ-at-a-time rule.
  let inFlight = 0;
  let maxInFlight = 0;
  const toHost = new ZnpFrameReader();
  const toStick = new ZnpFrameReader();
  const stick = new SimZnpStick({
    write: (b) => {
      for (const f of toHost.push(b)) if (frameType(f.cmd0) === TYPE_SRSP) inFlight--;
      sched.setTimer(0, () => events.push(...driver.onBytes(b, sched.now())));
    },
    radio,
    scheduler: sched,
    devices: () => [device],
  });
  const driver = new ZnpDriver((b) => {
    for (const f of toStick.push(b)) if (frameType(f.cmd0) === TYPE_SREQ) maxInFlight = Math.max(maxInFlight, ++inFlight);
    sched.setTimer(0, () => stick.onBytes(b));
  });
  const run = (ms = 100) => {
    sched.advance(ms);
    events.push(...driver.tick(sched.now()));
  };
  const take = () => events.splice(0, events.length);
  return { sched, radio, stick, driver, received, run, take, maxInFlight: () => maxInFlight };
}

function ready(b: ReturnType<typeof bench>): void {
  b.driver.start(b.sched.now());
  b.run();
  expect(b.take()).toEqual([{ type: 'ready' }]);
}

describe('ZnpDriver against the simulated stick', () => {
  test('start registers the hub endpoint with the OTA cluster and reports ready', () => {
    const b = bench();
    ready(b);
    expect(b.stick.registeredEndpoints()).toEqual([1]);
  });

  test('an endpoint the stick already knows (0xB8) still counts as ready', () => {
    const b = bench();
    ready(b);
    ready(b);
    expect(b.stick.registeredEndpoints()).toEqual([1]);
  });

  test('after a stick reset the driver reports it and registers again', () => {
    const b = bench();
    ready(b);
    b.stick.reset();
    expect(b.stick.registeredEndpoints()).toEqual([]);
    b.run();
    expect(b.take()).toEqual([{ type: 'reset', reason: 0 }, { type: 'ready' }]);
    expect(b.stick.registeredEndpoints()).toEqual([1]);
  });

  test('send delivers the frame to the device and confirms it', () => {
    const b = bench();
    ready(b);
    const h = b.driver.send(DEVICE, OTA, Uint8Array.from([0x19, 1, 2]), b.sched.now());
    b.run();
    expect(b.received).toEqual([{ clusterId: OTA, data: [0x19, 1, 2] }]);
    expect(b.take()).toEqual([{ type: 'confirm', handle: h, status: 0 }]);
  });

  test('a link that loses every frame confirms MAC_NO_ACK and delivers nothing', () => {
    const b = bench({ lossRate: 1 });
    ready(b);
    const h = b.driver.send(DEVICE, OTA, Uint8Array.from([1]), b.sched.now());
    b.run();
    expect(b.received).toEqual([]);
    expect(b.take()).toEqual([{ type: 'confirm', handle: h, status: 0xe9 }]);
  });

  test('a send before any registration is refused by the stick (status 0x02) and nothing goes on air', () => {
    const b = bench();
    const h = b.driver.send(DEVICE, OTA, Uint8Array.from([1]), b.sched.now());
    b.run();
    expect(b.received).toEqual([]);
    expect(b.take()).toEqual([{ type: 'confirm', handle: h, status: 0x02 }]);
  });

  test('many sends go out one SREQ at a time and each gets its own confirm', () => {
    const b = bench();
    ready(b);
    const handles = [1, 2, 3, 4, 5].map((i) => b.driver.send(DEVICE, OTA, Uint8Array.from([i]), b.sched.now()));
    expect(new Set(handles).size).toBe(5);
    b.run();
    expect(b.maxInFlight()).toBe(1);
    expect(b.received.map((r) => r.data[0])).toEqual([1, 2, 3, 4, 5]);
    expect(b.take()).toEqual(handles.map((handle) => ({ type: 'confirm', handle, status: 0 })));
  });

  test('handles are the AF transaction id: a byte that wraps', () => {
    const d = new ZnpDriver(() => undefined);
    const hs = Array.from({ length: 258 }, () => d.send(DEVICE, OTA, new Uint8Array(1), 0));
    expect(hs.slice(254)).toEqual([254, 255, 0, 1]);
  });

  test('device frames arrive as messages with their source, cluster and link quality', () => {
    const b = bench();
    ready(b);
    b.stick.fromDevice(DEVICE, OTA, Uint8Array.from([0x01, 0x05, 0x01]));
    b.run();
    const [ev] = b.take();
    expect(ev).toMatchObject({ type: 'message', src: DEVICE, dstEndpoint: 1, clusterId: OTA });
    if (ev.type !== 'message') throw new Error('not a message');
    expect(Array.from(ev.data)).toEqual([0x01, 0x05, 0x01]);
    expect(ev.linkQuality).toBeGreaterThan(200);
  });

  test('device announces arrive with the EUI as 16 upper-case hex digits', () => {
    const b = bench();
    ready(b);
    b.stick.announce(0x1001, '000d6f0000000001', 0x8e);
    b.run();
    expect(b.take()).toEqual([{ type: 'announce', nwk: 0x1001, eui: '000D6F0000000001' }]);
  });

  test('lookup asks the device at a network address over the air and reports its EUI-64', () => {
    const b = bench();
    ready(b);
    b.driver.lookup(DEVICE.nwk, b.sched.now());
    b.run();
    expect(b.take()).toEqual([{ type: 'address', nwk: DEVICE.nwk, eui: DEVICE_EUI }]);
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

  test('a lookup refused by the stick is an error naming the address', () => {
    const d = new ZnpDriver(() => undefined);
    d.lookup(0x1001, 0);
    expect(d.onBytes(buildZnpFrame(srspOf(ZDO_IEEE_ADDR_REQ), encodeStatus(0x02)), 1)).toEqual([{ type: 'error', message: 'ZDO_IEEE_ADDR_REQ 0x1001 refused: status 0x02' }]);
  });

  test('an SREQ that is never answered times out with an error and the queue moves on', () => {
    const written: number[] = [];
    const d = new ZnpDriver((bytes) => new ZnpFrameReader().push(bytes).forEach((f) => written.push(commandOf(f))), { sreqTimeoutMs: 2000 });
    d.start(0);
    d.send(DEVICE, OTA, new Uint8Array(1), 0);
    expect(written).toEqual([AF_REGISTER]); // the data request waits for the register's SRSP
    expect(d.tick(1999)).toEqual([]);
    const ev = d.tick(2000);
    expect(ev).toEqual([{ type: 'error', message: expect.stringMatching(/AF_REGISTER.*no SRSP/) }]);
    expect(written).toEqual([AF_REGISTER, 0x2401]);
    expect(d.tick(4000)).toEqual([{ type: 'error', message: expect.stringMatching(/AF_DATA_REQUEST 0.*no SRSP/) }]);
  });

  test('an RPC error answers the outstanding request: reported, and the next request goes out', () => {
    const written: number[] = [];
    const d = new ZnpDriver((bytes) => new ZnpFrameReader().push(bytes).forEach((f) => written.push(commandOf(f))));
    d.start(0);
    d.send(DEVICE, OTA, new Uint8Array(1), 0);
    const ev = d.onBytes(buildZnpFrame(RPC_ERROR, Uint8Array.from([0x02, 0x24, 0x00])), 1);
    expect(ev).toEqual([{ type: 'error', message: expect.stringMatching(/AF_REGISTER: RPC error 2/) }]);
    expect(written).toEqual([AF_REGISTER, 0x2401]);
  });

  test('a failed registration is an error, not ready', () => {
    const d = new ZnpDriver(() => undefined);
    d.start(0);
    expect(d.onBytes(buildZnpFrame(srspOf(AF_REGISTER), encodeStatus(0x01)), 1)).toEqual([
      { type: 'error', message: expect.stringMatching(/AF_REGISTER of endpoint 1 failed/) },
    ]);
  });

  test('a corrupted frame from the stick is reported and counted, and the next frame still understood', () => {
    const d = new ZnpDriver(() => undefined);
    d.start(0);
    const bad = buildZnpFrame(srspOf(AF_REGISTER), encodeStatus(0));
    bad[4] ^= 1;
    const good = buildZnpFrame(srspOf(AF_REGISTER), encodeStatus(0));
    const ev = d.onBytes(Uint8Array.from([...bad, ...good]), 1);
    expect(ev).toEqual([{ type: 'error', message: expect.stringMatching(/bad FCS/) }, { type: 'ready' }]);
    expect(d.stats().badFcs).toBe(1);
  });
});

describe('SimZnpStick', () => {
  test('answers an SREQ it does not implement with an RPC error naming it', () => {
    const out: Uint8Array[] = [];
    const stick = new SimZnpStick({ write: (b) => out.push(b), radio: new RadioModel(), scheduler: new ManualScheduler(), devices: () => [] });
    stick.onBytes(buildZnpFrame(0x2102, new Uint8Array(0))); // SYS_VERSION
    const [f] = new ZnpFrameReader().push(out[0]);
    expect(commandOf(f)).toBe(RPC_ERROR);
    expect(decodeRpcError(f.data)).toEqual({ errorCode: 0x02, reqCmd0: 0x21, reqCmd1: 0x02 });
  });
});
