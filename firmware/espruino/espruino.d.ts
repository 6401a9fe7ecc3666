// The parts of the Espruino 2v29 runtime the hub's Espruino adapters use (https://www.espruino.com/Reference).
// Only firmware/espruino/ may touch these: firmware/core stays free of globals and I/O.

/** A string whose characters are bytes; Storage.read returns one memory-mapped onto flash (no copy). */
type EspruinoData = string | Uint8Array | number[];

interface EspruinoE {
  /** zlib CRC-32 of a string or byte array, computed natively (check value 0xCBF43926 for "123456789"). */
  CRC32(data: EspruinoData): number;
  /** A new Uint8Array holding the bytes of a string (or array); native, no per-byte JavaScript. */
  toUint8Array(data: EspruinoData): Uint8Array;
  toString(data: EspruinoData): string;
  /** Size in JsVars of an object and what it references. */
  getSizeOf(v: unknown, depth?: number): number;
}

interface EspruinoMemory {
  free: number;
  usage: number;
  total: number;
  history: number;
  gc: number;
  gctime: number;
  blocksize: number;
}

interface EspruinoProcess {
  /** JsVar counts; runs a garbage collection first unless `gc` is false. */
  memory(gc?: boolean): EspruinoMemory;
  env: { VERSION: string; BOARD: string; [k: string]: unknown };
}

interface EspruinoStorageStats {
  totalBytes: number;
  freeBytes: number;
  fileBytes: number;
  fileCount: number;
  trashBytes: number;
  trashCount: number;
}

interface EspruinoStorage {
  /** Whole file or a range, as a memory-mapped string; undefined when the file does not exist. */
  read(name: string, offset?: number, length?: number): string | undefined;
  /** Offset 0 with `size` allocates the file once (size bytes, erased); later writes at offsets fill it. */
  write(name: string, data: EspruinoData, offset?: number, size?: number): boolean;
  readJSON(name: string, noExceptions?: boolean): unknown;
  writeJSON(name: string, data: unknown): boolean;
  erase(name: string): void;
  list(pattern?: RegExp): string[];
  /** Free bytes at the end of Storage (space held by erased files is not counted until compact()). */
  getFree(): number;
  getStats(): EspruinoStorageStats;
  compact(): void;
}

interface EspruinoSerialOptions {
  /** Linux builds only: the device (e.g. a pty) the port is connected to. */
  path?: string;
  rx?: unknown;
  tx?: unknown;
  bytesize?: number;
  parity?: string | null;
  stopbits?: number;
  flow?: string | null;
}

interface EspruinoSerial {
  setup(baud: number, options?: EspruinoSerialOptions): void;
  write(data: EspruinoData): void;
  on(event: 'data', cb: (data: string) => void): void;
  removeAllListeners(event?: string): void;
  /** Moves the REPL to this port (`force`: even while USB is connected). */
  setConsole(force?: boolean): void;
}

declare const E: EspruinoE;
declare const process: EspruinoProcess;
declare const Serial1: EspruinoSerial;
declare const Serial2: EspruinoSerial;
/** A port with nothing attached: the console goes here while the hub holds the console's port. */
declare const LoopbackA: EspruinoSerial;
/** The root scope object (Serial1, pins such as D8, ... are properties of it). */
declare const global: { [name: string]: unknown };
// No `require` here on purpose: use modules.ts. A bare require() in an ES module makes esbuild add a
// shim that needs Proxy, which Espruino lacks.
/** Arguments after `ms` are passed to `cb` (no closure needed per timer). */
declare function setInterval(cb: (...args: any[]) => void, ms: number, ...args: unknown[]): number;
declare function setTimeout(cb: (...args: any[]) => void, ms: number, ...args: unknown[]): number;
declare function clearInterval(id: number): void;
declare function clearTimeout(id: number): void;
declare function print(...args: unknown[]): void;
declare function atob(s: string): string;
declare function btoa(s: string): string;
declare const console: { log(...args: unknown[]): void };
