// A console line that corrupts Storage uploads, for `chub flash`: a pty the client opens, relayed both ways
// to `upstream`, that changes one base64 character in each of the espruino CLI's Storage.write lines
// (`require("Storage").write(name,atob("..."),offset)`) that `pick` chooses by their number (0, 1, ...). The
// line stays valid JavaScript, so the board stores another byte there, as when a console byte is garbled.
import { SerialPort } from 'serialport';
import { openPtyPair } from '../../host-tools/serial/pty-pair';

const MARK = Buffer.from('atob("', 'latin1');
/** Which character after the opening quote is changed: any will do, as long as it is inside the string. */
const NTH = 4;

export interface CorruptingRelay {
  port: string;
  /** Characters changed so far. */
  corrupted(): number;
  close(): void;
}

export async function openCorruptingRelay(upstream: string, pick: (line: number) => boolean): Promise<CorruptingRelay> {
  const pair = await openPtyPair('corrupting');
  const client = new SerialPort({ path: pair.a, baudRate: 115200 });
  const board = new SerialPort({ path: upstream, baudRate: 115200 });
  for (const p of [client, board]) p.on('error', () => undefined); // the ptys go away on close
  let matched = 0;
  let countdown = 0;
  let lines = 0;
  let corrupted = 0;
  client.on('data', (d: Buffer) => {
    // Matched across reads: the CLI sends a line in many small writes.
    const out = Buffer.from(d);
    for (let i = 0; i < out.length; i++) {
      const c = out[i];
      if (countdown > 0 && --countdown === 0) {
        out[i] = c === 0x41 ? 0x42 : 0x41; // 'A' <-> 'B': still base64, another byte
        corrupted++;
      }
      if (c === MARK[matched]) {
        if (++matched === MARK.length) {
          matched = 0;
          if (pick(lines++)) countdown = NTH;
        }
      } else matched = c === MARK[0] ? 1 : 0;
    }
    board.write(out);
  });
  board.on('data', (d: Buffer) => client.write(d));
  return {
    port: pair.b,
    corrupted: () => corrupted,
    close() {
      for (const p of [client, board]) if (p.isOpen) p.close();
      pair.close();
    },
  };
}
