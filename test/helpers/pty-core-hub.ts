// The hub core (firmware/core/hub.ts) on one end of a pty pair, for HubClient on the other: every request it
// reads is recorded, and chosen requests, or their replies, are lost on the way.
import * as zlib from 'zlib';
import { SerialPort } from 'serialport';
import { decodeBody, encodeFrame, FrameReader, Item } from '../../firmware/core/wire';
import { MemoryImageStore, MemoryKeyValueStore } from '../../host-tools/sim/memory-stores';
import { openPtyPair } from '../../host-tools/serial/pty-pair';
import { coreHub, FakeRadio } from './core-bench';

const crc32 = (b: Uint8Array) => zlib.crc32(b) >>> 0;

export interface Losses {
  /** A request (as the hub reads it: [i, op, ...]) that never reaches the hub. */
  request?: (a: Item[]) => boolean;
  /** A reply ([i, code, ...]) to `request` that never reaches the client. */
  reply?: (a: Item[], request: Item[]) => boolean;
}

export interface PtyCoreHub {
  /** The port the client opens. */
  path: string;
  images: MemoryImageStore;
  /** Every request that came in whole, lost ones too. */
  requests: Item[][];
  /** Bytes onto the link to the client, as if the hub had written them. */
  send(b: Uint8Array): void;
  close(): Promise<void>;
}

export async function ptyCoreHub(lose: Losses = {}): Promise<PtyCoreHub> {
  const pair = await openPtyPair('core-hub');
  const port = new SerialPort({ path: pair.a, baudRate: 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((e) => (e ? reject(e) : resolve())));
  const images = new MemoryImageStore();
  const requests: Item[][] = [];
  let reading: Item[] | undefined;
  const toClient = (frame: Uint8Array) => {
    const a = decodeBody(frame.subarray(4, frame.length - 4));
    // A copy: the hub writes its next frame into the same buffer.
    if (!(a && reading && a[0] === reading[0] && lose.reply?.(a, reading))) port.write(Buffer.from(frame));
  };
  const hub = coreHub(new FakeRadio(), images, new MemoryKeyValueStore(), toClient, {});
  hub.start(Date.now());
  const reader = new FrameReader(crc32);
  port.on('data', (d: Buffer) => {
    for (const body of reader.push(new Uint8Array(d))) {
      const a = decodeBody(body);
      if (!a) continue;
      requests.push(a);
      if (lose.request?.(a)) continue;
      reading = a;
      hub.host(encodeFrame(body, crc32), Date.now());
      reading = undefined;
    }
  });
  return {
    path: pair.b,
    images,
    requests,
    send: (b) => port.write(Buffer.from(b)),
    close: async () => {
      await new Promise<void>((resolve) => (port.isOpen ? port.close(() => resolve()) : resolve()));
      pair.close();
    },
  };
}

/** Requests of op `op` the hub read, in order. */
export function requestsOf(hub: PtyCoreHub, op: number): Item[][] {
  return hub.requests.filter((a) => a[1] === op);
}
