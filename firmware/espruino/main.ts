// Firmware entry point on Espruino: board config → host-link UART ⇄ Hub ⇄ ZnpDriver ⇄ radio UART.
// The board config is baked in at build time (boards/<name>.json) and can be overridden per board by a
// Storage file `chub.json`, e.g. {"host": {"path": "/tmp/a"}, "radio": {"path": "/tmp/b"}, "debug": true,
// "hubConfig": {"silenceTimeoutMs": 120000}}.
import { Ev } from '../core/codes';
import { Hub, HubPorts } from '../core/hub';
import { uploads } from '../core/image-upload';
import { w } from '../core/wire';
import { ZnpDriver } from '../radio/znp-driver';
import { RadioSink } from '../ports/radio';
import { BoardConfig, overlayConfig, SerialConfig } from './board-config';
import { ConsolePort } from './console-port';
import { firmwareUpdates } from './firmware-update';
import { storage } from './modules';
import { storageImages, storageKv } from './storage-stores';

/** boards/<name>.json as a JSON string: a string literal stays in flash with the code, and the object
 *  parsed from it is dropped once the ports are set up. */
declare const __CHUB_BOARD__: string;
declare const __CHUB_FW__: string;
/** Whether the board's REPL is on the host link's port (console-port.ts): boards with a console of their
 *  own carry none of that code. */
declare const __CHUB_SHARED_CONSOLE__: boolean;
/** Whether the board stores images: boards that stream every image carry no store and no header parser. */
declare const __CHUB_STORED__: boolean;
/** Whether the board's Storage holds two copies of the bundle, so it takes its firmware over the host link
 *  (firmware-update.ts); the others are flashed with the espruino CLI only. */
declare const __CHUB_FW_UPDATE__: boolean;
/** The other end of LoopbackA, where the console goes while the hub holds a shared console's port. */
declare const LoopbackB: EspruinoSerial;

/** Bytes of host-link input handled at a time: only a slice and one request are in RAM at once. */
const HOST_SLICE = 96;

function openSerial(c: SerialConfig): EspruinoSerial {
  const port = global[c.serial] as EspruinoSerial;
  // USB and Bluetooth are virtual ports: they have no baud rate or pins to set up.
  if (c.serial === 'USB' || c.serial === 'Bluetooth') return port;
  // The port keeps its options object for as long as it is open: only the keys the board uses (an undefined
  // key is a JsVar or two held for nothing).
  const o: EspruinoSerialOptions = {};
  if (c.path) o.path = c.path;
  if (c.rx) o.rx = global[c.rx];
  if (c.tx) o.tx = global[c.tx];
  port.setup(c.baud, o);
  return port;
}

// Run once and let go of: its function is not kept (a JsVar each for it and its name), only the closures it makes.
(function main(): void {
  // The config is only needed here: nothing created below keeps it (JsVars are scarce on small boards).
  let board: BoardConfig = overlayConfig(JSON.parse(__CHUB_BOARD__) as BoardConfig, storage().readJSON('chub.json', true), function (msg: string) {
    console.log(msg);
  });
  const hostPort = openSerial(board.host);
  const radioPort = openSerial(board.radio);
  const tickMs = board.tickMs || 100;
  const debug = board.debug === true;
  // Only a port the REPL is on needs borrowing; 0 idle seconds means it is kept until asked for.
  const shared = __CHUB_SHARED_CONSOLE__ ? new ConsolePort(hostPort, (board.consoleIdleS || 0) * 1000) : undefined;
  let peak = 0;
  /** Whether a wake-up for page blocks is pending. */
  let wake = 0;
  const ports: HubPorts = {
    kv: storageKv,
    // The sink is the hub, set once it exists.
    radio: new ZnpDriver(function (b: Uint8Array) {
      radioPort.write(b);
    }, undefined as unknown as RadioSink, board.hubConfig.radioWindow),
    // One whole frame per write; none while the REPL has the port (they would land in a flashing tool).
    sendHost: function (b: Uint8Array) {
      if (!shared || shared.owned) hostPort.write(b);
    },
    crc32: E.CRC32,
  };
  // A port the board lacks is no key at all (a JsVar or two each), not one holding undefined.
  if (__CHUB_STORED__) {
    ports.images = storageImages;
    ports.uploads = uploads;
  }
  if (__CHUB_FW_UPDATE__) ports.firmware = firmwareUpdates;
  if (shared) ports.console = shared;
  const hub = new Hub(ports, board.hubConfig);
  (hub.p.radio as ZnpDriver).sink = hub;
  // Every input and tick ends with a memory sample when `debug` is set (the tests' JsVar peaks).
  const step = function (what: number, d: string | null) {
    // Milliseconds with a fraction on Espruino: the core takes them as they are (w() sends their whole part).
    const t = Date.now();
    if (what === 3) wake = 0;
    try {
      if (what === 0) {
        for (let off = 0; off < (d as string).length; off += HOST_SLICE) hub.host(E.toUint8Array((d as string).substr(off, HOST_SLICE)), t);
        if (shared) shared.lastFrame = t;
      } else if (what === 1) hub.radioBytes(E.toUint8Array(d as string), t);
      else {
        if (shared) shared.input(null, false, t);
        hub.tick(t);
      }
    } catch (e) {
      // One bad input must not stop the hub; the host hears of it (a console event, as a board prints it).
      console.log('chub: ' + e);
    }
    if (debug) {
      const u = process.memory(false).usage;
      if (u > peak) peak = u;
    }
    // Page blocks due before the next tick get a wake-up of their own; one still due right after a tick or
    // wake-up waits for the radio to free (its input comes here) or the next tick, rather than spinning.
    const at = hub.wakeAt;
    if (at >= 0 && at - t < tickMs && !wake && !(what > 1 && at <= t)) wake = setTimeout(step, Math.max(0, at - t), 3, null);
  };
  hostPort.on('data', function (d: string) {
    if (!shared || !shared.input(d, hub.rd.midFrame(), Date.now())) step(0, d);
  });
  radioPort.on('data', function (d: string) {
    step(1, d);
  });
  setInterval(step, tickMs, 2, null);
  if (shared) {
    shared.take(Date.now());
    global['chubLink'] = function () {
      (shared as ConsolePort).take(Date.now());
    };
    // While the hub holds the port the interpreter prints to LoopbackA ("Uncaught ...", out of memory),
    // which no one would read: it goes to the host as console events instead.
    LoopbackB.on('data', function (d: string) {
      w(0, 1);
      w(Ev.Console);
      w(d);
      hub.out(0);
    });
  }
  if (debug)
    setInterval(function () {
      const m = process.memory(false);
      console.log('CHUB_MEM ' + JSON.stringify({ usage: m.usage, free: m.free, total: m.total, peak: peak }));
    }, 500);
  if (board.inspect === true) global['chubHub'] = hub;
  hub.start(Date.now());
  console.log('chub ' + __CHUB_FW__ + ' on ' + board.name + ' started');
  // The closures above keep this scope for as long as the hub runs: not the config's tens of JsVars.
  board = null as unknown as BoardConfig;
})();
