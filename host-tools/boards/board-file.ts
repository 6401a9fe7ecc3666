// Board files (boards/<name>.json): the budgets, UARTs and image mode of one hub board.
// Loaded by the firmware build (baked into the bundle) and by tools that need a board's limits.
// Every field is checked, and unknown fields are refused, so a typo is an error naming the file and the field.
import * as fs from 'fs';
import * as path from 'path';
import { HubConfig } from '../../firmware/core/hub';
import { SilenceMs } from '../../firmware/espruino/board-config';

export interface SerialPortConfig {
  /** Espruino UART object: Serial1..Serial6, USB, Bluetooth (Nordic UART), LoopbackA/B. */
  serial: string;
  baud: number;
  rx?: string;
  tx?: string;
  /** Linux interpreter only: device path (normally given at run time in chub.json instead). */
  path?: string;
}

export interface BoardFile {
  name: string;
  description?: string;
  /** Where the budgets come from (the Espruino repo's boards/<BOARD>.py). */
  source?: string;
  /** The device the Espruino console (REPL) is on at boot: what `espruino`/`chub flash` talk to.
   *  Absent for the Linux interpreter, whose console is its stdin. */
  console?: string;
  /** When the host link is on the console: seconds without a good frame before the hub gives the REPL
   *  the port back (0 or absent: only on request or a break). */
  consoleIdleS?: number;
  /** JsVars the board has (process.memory().total). */
  jsvars: number;
  /** Bytes of flash available to Storage. */
  storageBytes: number;
  /** 'stored': images are written to Storage; 'streamed': the hub asks the host for ranges. */
  imageMode: 'stored' | 'streamed';
  host: SerialPortConfig;
  radio: SerialPortConfig;
  tickMs?: number;
  /** The hub core's limits for this board (firmware/core/hub.ts HubConfig). */
  hub?: Partial<Pick<HubConfig, 'maxChunk' | 'maxDevices' | 'maxJobs' | 'maxAlerts' | 'maxSessions' | 'maxBlock' | 'keepFinishedJobs' | 'streamRangeBytes' | 'streamRanges' | 'maxImages' | 'silenceTimeoutMs' | 'requireSha256'>>;
}

export class BoardFileError extends Error {
  constructor(readonly file: string, readonly field: string, problem: string) {
    super(`${file}: ${field ? `"${field}" ` : ''}${problem}`);
    this.name = 'BoardFileError';
  }
}

const UARTS = /^(Serial[1-6]|USB|Bluetooth|LoopbackA|LoopbackB)$/;
const UART_NAMES = 'Serial1..Serial6, USB, Bluetooth, LoopbackA/B';
const PIN = /^[A-Z][A-Za-z]?[0-9]{1,2}$/;
const BAUDS = [9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600, 1000000];
/** The host link carries at most 1400-byte bodies (firmware/core/host-link-frame.ts MAX_BODY). */
const MAX_CHUNK_LIMIT = 1024;

type Obj = Record<string, unknown>;

class Checker {
  constructor(readonly file: string) {}
  fail(field: string, problem: string): never {
    throw new BoardFileError(this.file, field, problem);
  }
  object(v: unknown, field: string): Obj {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) this.fail(field, `must be an object, not ${describe(v)}`);
    return v as Obj;
  }
  only(o: Obj, prefix: string, allowed: string[]): void {
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) this.fail(prefix + k, `is not a board field (known: ${allowed.join(', ')})`);
    }
  }
  string(o: Obj, key: string, field: string, optional = false): string | undefined {
    const v = o[key];
    if (v === undefined && optional) return undefined;
    if (typeof v !== 'string' || v.length === 0) this.fail(field, `must be a non-empty string, not ${describe(v)}`);
    return v;
  }
  int(o: Obj, key: string, field: string, min: number, max: number, optional = false): number | undefined {
    const v = o[key];
    if (v === undefined && optional) return undefined;
    if (typeof v !== 'number' || !Number.isInteger(v)) this.fail(field, `must be an integer, not ${describe(v)}`);
    if (v < min || v > max) this.fail(field, `must be between ${min} and ${max}, not ${v}`);
    return v;
  }
}

function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `${typeof v} ${JSON.stringify(v)}`;
}

function checkSerial(c: Checker, parent: Obj, key: string): SerialPortConfig {
  const o = c.object(parent[key], key);
  c.only(o, key + '.', ['serial', 'baud', 'rx', 'tx', 'path']);
  const serial = c.string(o, 'serial', key + '.serial') as string;
  if (!UARTS.test(serial)) c.fail(key + '.serial', `must name an Espruino UART (${UART_NAMES}), not ${JSON.stringify(serial)}`);
  const baud = c.int(o, 'baud', key + '.baud', 1, 4000000) as number;
  if (!BAUDS.includes(baud)) c.fail(key + '.baud', `must be a standard rate (${BAUDS.join(', ')}), not ${baud}`);
  const out: SerialPortConfig = { serial, baud };
  for (const pin of ['rx', 'tx'] as const) {
    const p = c.string(o, pin, `${key}.${pin}`, true);
    if (p === undefined) continue;
    if (!PIN.test(p)) c.fail(`${key}.${pin}`, `must be a pin name such as "D8" or "B6", not ${JSON.stringify(p)}`);
    out[pin] = p;
  }
  if ((out.rx === undefined) !== (out.tx === undefined)) c.fail(`${key}.${out.rx === undefined ? 'rx' : 'tx'}`, 'must be given together with the other pin');
  const p = c.string(o, 'path', key + '.path', true);
  if (p !== undefined) {
    if (!p.startsWith('/')) c.fail(key + '.path', `must be an absolute device path, not ${JSON.stringify(p)}`);
    out.path = p;
  }
  return out;
}

/** Hub settings that are on or off: requireSha256 makes every job.start name the image's SHA-256 (a hub that
 *  distributes only what a GBCS command named, FACTS §1). */
const HUB_SWITCHES = ['requireSha256'] as const;

/** The hub limits a board file may set (HubConfig), and their ranges. maxJobs, maxAlerts and maxSessions are
 *  memory on small boards: transfers and held alerts cost JsVars, and clients past maxSessions are told
 *  WAIT_FOR_DATA. A streamed image's ranges (streamRangeBytes × streamRanges) are held in RAM. */
const HUB_LIMITS: [Exclude<keyof NonNullable<BoardFile['hub']>, (typeof HUB_SWITCHES)[number]>, number, number][] = [
  ['maxChunk', 16, MAX_CHUNK_LIMIT],
  ['maxDevices', 1, 1000],
  ['maxJobs', 1, 1000],
  ['maxAlerts', 1, 10000],
  ['maxSessions', 1, 1000],
  // An Image Block Response carries 17 bytes besides the block, and the ZNP driver sends at most 96
  // (firmware/radio/znp-driver.ts ZnpLimit.MAX_SEND); ~82 is the secured APS payload anyway (FACTS §3).
  ['maxBlock', 1, 79],
  ['maxImages', 1, 64],
  ['keepFinishedJobs', 0, 1000],
  ['streamRangeBytes', 16, 4096],
  ['streamRanges', 1, 256],
  // How long a transferring device may ask for nothing before its job fails (0x8F89, File Transfer Failure).
  // Keep it above the pauses clients are allowed: busyWaitS (30 s) for a client without a session, and a
  // block period read as seconds (FACTS §2: a hub asking for 500 ms gets a 500 s pause), which the core's
  // default of 10 minutes waits out.
  ['silenceTimeoutMs', SilenceMs.Min, SilenceMs.Max],
];

/** Checks a parsed board file; `file` names it in errors. */
export function validateBoard(raw: unknown, file: string, expectName?: string): BoardFile {
  const c = new Checker(file);
  const o = c.object(raw, '');
  c.only(o, '', ['name', 'description', 'source', 'console', 'consoleIdleS', 'jsvars', 'storageBytes', 'imageMode', 'host', 'radio', 'tickMs', 'hub']);
  const name = c.string(o, 'name', 'name') as string;
  if (!/^[a-z0-9][a-z0-9_-]*$/.test(name)) c.fail('name', `must be lower-case letters, digits, - or _, not ${JSON.stringify(name)}`);
  if (expectName !== undefined && name !== expectName) c.fail('name', `is ${JSON.stringify(name)} but the file is named for ${JSON.stringify(expectName)}`);
  const board: BoardFile = {
    name,
    jsvars: c.int(o, 'jsvars', 'jsvars', 1000, 1000000) as number,
    storageBytes: c.int(o, 'storageBytes', 'storageBytes', 4096, 64 * 1024 * 1024) as number,
    imageMode: 'stored',
    host: checkSerial(c, o, 'host'),
    radio: checkSerial(c, o, 'radio'),
  };
  const description = c.string(o, 'description', 'description', true);
  if (description !== undefined) board.description = description;
  const source = c.string(o, 'source', 'source', true);
  if (source !== undefined) board.source = source;
  const consoleUart = c.string(o, 'console', 'console', true);
  if (consoleUart !== undefined) {
    if (!UARTS.test(consoleUart)) c.fail('console', `must name an Espruino UART (${UART_NAMES}), not ${JSON.stringify(consoleUart)}`);
    if (consoleUart === board.radio.serial) c.fail('console', `is ${consoleUart}, the radio's UART: the console would see ZNP frames`);
    board.console = consoleUart;
  }
  const idle = c.int(o, 'consoleIdleS', 'consoleIdleS', 0, 86400, true);
  if (idle !== undefined) {
    if (board.console === undefined || board.console !== board.host.serial) c.fail('consoleIdleS', 'only applies when the host link is on the console (console = host.serial)');
    board.consoleIdleS = idle;
  }
  const mode = o.imageMode;
  if (mode !== 'stored' && mode !== 'streamed') c.fail('imageMode', `must be "stored" or "streamed", not ${describe(mode)}`);
  board.imageMode = mode as BoardFile['imageMode'];
  if (board.host.serial === board.radio.serial) c.fail('radio.serial', `is ${board.radio.serial}, the same UART as host.serial`);
  const tickMs = c.int(o, 'tickMs', 'tickMs', 10, 5000, true);
  if (tickMs !== undefined) board.tickMs = tickMs;
  if (o.hub !== undefined) {
    const h = c.object(o.hub, 'hub');
    c.only(h, 'hub.', [...HUB_LIMITS.map((l) => l[0]), ...HUB_SWITCHES]);
    board.hub = {};
    for (const [key, min, max] of HUB_LIMITS) {
      const v = c.int(h, key, 'hub.' + key, min, max, true);
      if (v !== undefined) board.hub[key] = v;
    }
    for (const key of HUB_SWITCHES) {
      const v = h[key];
      if (v !== undefined && typeof v !== 'boolean') c.fail('hub.' + key, `must be true or false, not ${describe(v)}`);
      if (v !== undefined) board.hub[key] = v as boolean;
    }
  }
  return board;
}

/** The repository's boards/ directory. */
export const BOARDS_DIR = path.resolve(__dirname, '../../boards');

/** Loads boards/<name>.json (or a path to a .json file) and validates it. */
export function loadBoard(nameOrPath: string, dir: string = BOARDS_DIR): BoardFile {
  const isPath = nameOrPath.endsWith('.json') || nameOrPath.includes('/');
  const file = isPath ? path.resolve(nameOrPath) : path.join(dir, `${nameOrPath}.json`);
  if (!isPath && !/^[a-z0-9][a-z0-9_-]*$/.test(nameOrPath)) throw new BoardFileError(file, '', `bad board name ${JSON.stringify(nameOrPath)}`);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    const known = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)) : [];
    throw new BoardFileError(file, '', `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); known boards: ${known.join(', ') || 'none'}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new BoardFileError(file, '', `is not valid JSON: ${(e as Error).message}`);
  }
  return validateBoard(raw, file, path.basename(file, '.json'));
}
