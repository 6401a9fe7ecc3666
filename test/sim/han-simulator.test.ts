import { SerialPort } from 'serialport';
import { buildZclFrame, decodeReadAttributesResponse, encodeReadAttributes, parseZclFrame } from '../../firmware/core/zcl-frame';
import { decodeOta } from '../../firmware/core/zcl-ota';
import { RadioEv, RadioSink } from '../../firmware/ports/radio';
import { ZnpDriver } from '../../firmware/radio/znp-driver';
import { euiFromWire } from '../../host-tools/link/hub-protocol';

/** What the driver told its sink, in words a test can match. */
type RadioEvent =
  | { type: 'message'; src: { nwk: number; endpoint: number }; clusterId: number; data: Uint8Array }
  | { type: 'announce' | 'address'; nwk: number; eui: string }
  | { type: 'confirm'; handle: number; status: number }
  | { type: 'reset'; reason: number }
  | { type: 'error'; code: number; detail: number };

/** A sink that records events (copying the views it is given). */
function recorder(events: RadioEvent[]): RadioSink {
  return {
    radio(ev, a, b, data) {
      if (ev === RadioEv.Message) events.push({ type: 'message', src: { nwk: a, endpoint: b & 255 }, clusterId: b >> 8, data: new Uint8Array(data!) });
      else if (ev === RadioEv.Announce || ev === RadioEv.Address) events.push({ type: ev === RadioEv.Announce ? 'announce' : 'address', nwk: a, eui: euiFromWire(data) });
      else if (ev === RadioEv.Confirm) events.push({ type: 'confirm', handle: a, status: b });
      else if (ev === RadioEv.Reset) events.push({ type: 'reset', reason: b });
      else events.push({ type: 'error', code: a, detail: b });
    },
  };
}
import { SimDeviceState } from '../../host-tools/sim/ota-client';
import { openPtyPair } from '../../host-tools/serial/pty-pair';
import { parseDeviceSpec } from '../../host-tools/sim/device-spec';
import { startSimulator, StartedSimulator } from '../../host-tools/sim/han-simulator';

const PPMID = '000D6F0000000001';
const HCALCS = '000D6F0000000002';

describe('HAN simulator on a pty, driven by ZnpDriver over serialport', () => {
  let started: StartedSimulator;
  let port: SerialPort;
  let driver: ZnpDriver;
  const events: RadioEvent[] = [];
  const changes: SimDeviceState[] = [];

  /** Resolves once an event matching `pred` has arrived (polling the driver's timeouts meanwhile). */
  function waitFor(pred: (e: RadioEvent) => boolean, ms = 5000): Promise<RadioEvent> {
    return new Promise((resolve, reject) => {
      const t0 = Date.now();
      const poll = setInterval(() => {
        driver.tick(Date.now());
        const hit = events.find(pred);
        if (hit) {
          clearInterval(poll);
          resolve(hit);
        } else if (Date.now() - t0 > ms) {
          clearInterval(poll);
          reject(new Error('timed out; events: ' + JSON.stringify(events.map((e) => e.type))));
        }
      }, 5);
    });
  }

  beforeAll(async () => {
    const devices = [parseDeviceSpec(`PPMID:${PPMID}`, 0), parseDeviceSpec(`HCALCS:${HCALCS}:version=0x10`, 1)];
    started = await startSimulator({ devices, timeScale: 0.01, seed: 1 });
    started.sim.on('device', (s) => changes.push(s));
    port = new SerialPort({ path: started.radioPath, baudRate: 115200 });
    await new Promise<void>((resolve, reject) => port.once('open', resolve).once('error', reject));
    driver = new ZnpDriver((b) => port.write(Buffer.from(b)), recorder(events), 2);
    port.on('data', (d: Buffer) => driver.onBytes(new Uint8Array(d), Date.now()));
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => port.close(() => resolve()));
    await started.close();
  });

  test('registers, then hears both devices announce and query for an image', async () => {
    driver.tick(Date.now()); // the first tick registers the endpoint
    // A registration that succeeds is silent; the devices' traffic shows the endpoint is there.
    await waitFor((e) => e.type === 'announce' && e.eui === HCALCS);
    await waitFor((e) => e.type === 'announce' && e.eui === PPMID);
    const qni = await waitFor((e) => e.type === 'message' && e.src.nwk === 0x1002);
    if (qni.type !== 'message') throw new Error('not a message');
    const f = parseZclFrame(qni.data);
    expect(decodeOta(f.header.commandId, f.payload)).toMatchObject({ cmd: 0x01, manufacturerCode: 0x1234, imageType: 1, fileVersion: 0x10, hardwareVersion: 2 });
    expect(changes.map((c) => [c.eui, c.state])).toEqual(expect.arrayContaining([[PPMID, 'querying'], [HCALCS, 'querying']]));
  });

  test('a Read Attributes sent through the stick is answered by the device', async () => {
    events.length = 0;
    const read = buildZclFrame({ frameType: 0, direction: 1, disableDefaultResponse: true, seq: 42, commandId: 0x00 }, encodeReadAttributes([0x0002]));
    const h = driver.send(0x1002, 1, 0x0019, read, read.length, Date.now());
    await waitFor((e) => e.type === 'confirm' && e.handle === h && e.status === 0);
    const rsp = await waitFor((e) => e.type === 'message' && parseZclFrame(e.data).header.seq === 42);
    if (rsp.type !== 'message') throw new Error('not a message');
    expect(decodeReadAttributesResponse(parseZclFrame(rsp.data).payload)).toEqual([{ id: 2, status: 0, type: 0x23, value: 0x10 }]);
  });

  test('devices() reports every simulated device', () => {
    expect(started.sim.devices().map((d) => [d.type, d.eui])).toEqual([
      ['PPMID', PPMID],
      ['HCALCS', HCALCS],
    ]);
  });
});

// A bench: the board booted (and sent AF_REGISTER into a silent UART) before `chub sim --port` started.
test('a hub that started before the simulator opened its port registers with it, and hears the devices', async () => {
  const pair = await openPtyPair('radio');
  const hub = new SerialPort({ path: pair.a, baudRate: 115200 });
  let started: StartedSimulator | undefined;
  const events: RadioEvent[] = [];
  try {
    await new Promise<void>((resolve, reject) => hub.once('open', resolve).once('error', reject));
    const driver = new ZnpDriver((b) => hub.write(Buffer.from(b)), recorder(events), 2);
    hub.on('data', (d: Buffer) => driver.onBytes(new Uint8Array(d), Date.now()));
    driver.tick(Date.now()); // the first tick registers the endpoint
    await new Promise((r) => setTimeout(r, 200));
    started = await startSimulator({ devices: [parseDeviceSpec(`PPMID:${PPMID}`, 0)], timeScale: 0.01, port: pair.b });
    for (let i = 0; i < 500 && !events.some((e) => e.type === 'announce'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(events).toContainEqual({ type: 'announce', nwk: 0x1001, eui: PPMID });
  } finally {
    await started?.close();
    await new Promise<void>((resolve) => (hub.isOpen ? hub.close(() => resolve()) : resolve()));
    pair.close();
  }
});
