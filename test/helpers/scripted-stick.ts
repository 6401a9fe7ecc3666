// The ZNP stick side of a hub's radio UART, scripted for tests on the Espruino interpreter: it answers
// SREQs as a stick does, plays any number of OTA clients (one per network address) and hands each the
// hub's ZCL frames for it. Faster than the HAN simulator: no radio timing, so the interpreter is the
// only bottleneck.
import { SerialPort } from 'serialport';
import { buildZclFrame, DIR_CLIENT_TO_SERVER, FRAME_TYPE_CLUSTER, parseZclFrame } from '../../firmware/core/zcl-frame';
import { decodeOta, encodeOta, ImageId, OtaCommand, OTA_CLUSTER, STATUS } from '../../firmware/core/zcl-ota';
import { decodeAfDataRequest, encodeAfDataConfirm, encodeAfIncomingMsg, encodeEndDeviceAnnce, encodeStatus } from '../../firmware/radio/znp-commands';
import { AF_DATA_CONFIRM, AF_DATA_REQUEST, AF_INCOMING_MSG, AF_REGISTER, buildZnpFrame, commandOf, srspOf, ZDO_END_DEVICE_ANNCE_IND, ZnpFrameReader } from '../../firmware/radio/znp-frame';

const DEVICE_EP = 1;

export interface FromHub {
  seq: number;
  cmd: OtaCommand | null;
  raw: Uint8Array;
}

export function openPort(p: string): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    const port = new SerialPort({ path: p, baudRate: 115200, autoOpen: false });
    port.open((e) => (e ? reject(e) : resolve(port)));
  });
}

export class ScriptedStick {
  private reader = new ZnpFrameReader();
  registered = 0;
  dataRequests = 0;
  private fromHub = new Map<number, FromHub[]>();
  private waiting = new Map<number, () => void>();
  private transSeq = 0;

  constructor(private port: SerialPort) {
    port.on('data', (d: Buffer) => {
      for (const f of this.reader.push(new Uint8Array(d))) this.onFrame(commandOf(f), f.data);
    });
  }

  private write(command: number, data: Uint8Array): void {
    this.port.write(Buffer.from(buildZnpFrame(command, data)));
  }

  private onFrame(cmd: number, data: Uint8Array): void {
    if (cmd === AF_REGISTER) {
      this.registered++;
      this.write(srspOf(AF_REGISTER), encodeStatus(0));
    } else if (cmd === AF_DATA_REQUEST) {
      this.dataRequests++;
      const r = decodeAfDataRequest(data);
      this.write(srspOf(AF_DATA_REQUEST), encodeStatus(0));
      this.write(AF_DATA_CONFIRM, encodeAfDataConfirm({ status: 0, endpoint: r.srcEndpoint, transId: r.transId }));
      if (r.clusterId !== OTA_CLUSTER) return;
      const z = parseZclFrame(r.data);
      const c = z.header.frameType === FRAME_TYPE_CLUSTER ? decodeOta(z.header.commandId, z.payload) : null;
      const q = this.fromHub.get(r.dstAddr) ?? [];
      q.push({ seq: z.header.seq, cmd: c, raw: r.data });
      this.fromHub.set(r.dstAddr, q);
      this.waiting.get(r.dstAddr)?.();
    }
  }

  announce(eui: string, nwk: number): void {
    this.write(ZDO_END_DEVICE_ANNCE_IND, encodeEndDeviceAnnce({ srcAddr: nwk, nwkAddr: nwk, eui, capabilities: 0x80 }));
  }

  /** Sends a client→server OTA command from `nwk` as an AF_INCOMING_MSG (Z-Stack 3.x form, with the trailer). */
  sendOta(nwk: number, c: OtaCommand, seq: number): void {
    const zcl = buildZclFrame({ frameType: FRAME_TYPE_CLUSTER, direction: DIR_CLIENT_TO_SERVER, disableDefaultResponse: false, seq, commandId: c.cmd }, encodeOta(c));
    this.write(
      AF_INCOMING_MSG,
      encodeAfIncomingMsg({
        groupId: 0,
        clusterId: OTA_CLUSTER,
        srcAddr: nwk,
        srcEndpoint: DEVICE_EP,
        dstEndpoint: 1,
        wasBroadcast: 0,
        linkQuality: 200,
        securityUse: 0,
        timestamp: 0,
        transSeq: this.transSeq++ & 0xff,
        data: zcl,
        macSrcAddr: nwk,
        radius: 29,
      }),
    );
  }

  /** The next OTA frame the hub sent to `nwk` (or rejects after `ms`). */
  async next(nwk: number, ms = 5000): Promise<FromHub> {
    const t0 = Date.now();
    const q = () => this.fromHub.get(nwk) ?? [];
    while (q().length === 0) {
      if (Date.now() - t0 > ms) throw new Error(`the hub sent device 0x${nwk.toString(16)} nothing within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.waiting.set(nwk, () => {
          clearTimeout(t);
          resolve();
        });
      });
      this.waiting.delete(nwk);
    }
    return q().shift()!;
  }

  /**
   * Plays an OTA client downloading `size` bytes of image `id` from `from`, `maxData` bytes a block:
   * every Image Block Request answered in order, WAIT_FOR_DATA honoured. Returns the bytes and the waits.
   */
  async download(nwk: number, id: ImageId, size: number, maxData: number, firstSeq: number): Promise<{ data: Uint8Array; waits: number; seq: number }> {
    const data = new Uint8Array(size);
    let seq = firstSeq;
    let off = 0;
    let waits = 0;
    while (off < size) {
      seq = (seq + 1) & 0xff;
      this.sendOta(nwk, { cmd: 0x03, ...id, fileOffset: off, maxDataSize: maxData }, seq);
      const r = await this.next(nwk);
      const c = r.cmd as Extract<OtaCommand, { cmd: 0x05 }>;
      if (r.seq !== seq || !c || c.cmd !== 0x05) throw new Error(`device 0x${nwk.toString(16)} asked for ${off} (seq ${seq}) and got ${JSON.stringify(r.cmd)} (seq ${r.seq})`);
      if (c.status === STATUS.WAIT_FOR_DATA) {
        waits++;
        const w = c.wait!;
        await new Promise((res) => setTimeout(res, Math.max(50, (w.requestTime - w.currentTime) * 1000, w.minimumBlockPeriod ?? 0)));
        continue;
      }
      if (c.status !== STATUS.SUCCESS || c.block!.fileOffset !== off || c.block!.data.length === 0 || c.block!.data.length > maxData)
        throw new Error(`device 0x${nwk.toString(16)} asked for ${off} and got status 0x${c.status.toString(16)} at ${c.block?.fileOffset} (${c.block?.data.length} bytes)`);
      data.set(c.block!.data, off);
      off += c.block!.data.length;
    }
    return { data, waits, seq };
  }
}
