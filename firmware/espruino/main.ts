// Firmware entry point on Espruino: board config → host-link UART ⇄ HostLink ⇄ Hub ⇄ ZnpDriver ⇄ radio UART.
// The board config is baked in at build time (boards/<name>.json) and can be overridden per board by a
// Storage file `chub.json`, e.g. {"host": {"path": "/tmp/a"}, "radio": {"path": "/tmp/b"}, "debug": true}.
import { cborDecode, cborEncode } from '../core/cbor';
import { HostLink, Message } from '../core/host-link';
import { Hub, HubConfig } from '../core/hub';
import { ZnpDriver } from '../radio/znp-driver';
import { BoardConfig, overlayConfig, SerialConfig } from './board-config';
import { ConsolePort } from './console-port';
import { StorageImageStore } from './storage-image-store';
import { parseImageHeader } from '../core/image-header';
import { ImageUploads } from '../core/image-upload';
import { NO_IMAGE_STORE } from '../ports/image-store';
import { StorageKvStore } from './storage-kv-store';
import { storage } from './modules';

/** boards/<name>.json as a JSON string: a string literal stays in flash with the code, and the object
 *  parsed from it is dropped once the ports are set up (an object literal would hold ~30 JsVars for good). */
declare const __CHUB_BOARD__: string;
declare const __CHUB_FW__: string;
/** Whether the board's REPL is on the host link's port (console-port.ts): decided at build time, so
 *  boards with a console of its own carry none of that code (JsVars). */
declare const __CHUB_SHARED_CONSOLE__: boolean;
/** Whether the board stores images (imageMode "stored"): boards that stream every image carry no image
 *  store and no header parser. */
declare const __CHUB_STORED__: boolean;
/** The other end of LoopbackA, where the console goes while the hub holds a shared console's port. */
declare const LoopbackB: EspruinoSerial;

function now(): number {
  return Math.floor(Date.now());
}

function openSerial(what: string, c: SerialConfig): EspruinoSerial {
  const port = global[c.serial] as EspruinoSerial | undefined;
  if (!port || typeof port.write !== 'function') throw new Error(what + ': no UART named ' + c.serial);
  // USB and Bluetooth are virtual ports: they have no baud rate or pins to set up.
  if (c.serial === 'USB' || c.serial === 'Bluetooth') return port;
  const opts: EspruinoSerialOptions = {};
  if (c.path) opts.path = c.path;
  if (c.rx) opts.rx = global[c.rx];
  if (c.tx) opts.tx = global[c.tx];
  port.setup(c.baud, opts);
  return port;
}

/** Bytes of host-link input handled at a time. */
const HOST_SLICE = 96;

/** Memory high-water mark in JsVars, sampled after each piece of work when `debug` is set. */
let peak = 0;
let debug = false;

function sample(): void {
  if (!debug) return;
  const u = process.memory(false).usage;
  if (u > peak) peak = u;
}

function report(e: unknown, where: string): void {
  const err = e as Error;
  console.log('chub: error in ' + where + ': ' + (err && err.message ? err.message : String(e)));
}

/** Board config: the one baked in, overlaid with the Storage file chub.json. */
function loadConfig(): BoardConfig {
  return overlayConfig(JSON.parse(__CHUB_BOARD__) as BoardConfig, storage().readJSON('chub.json', true));
}

function main(): void {
  // The config is only needed here: nothing created below keeps it (JsVars are scarce on small boards).
  const board = loadConfig();
  debug = board.debug === true;
  const hostPort = openSerial('host link', board.host);
  // Only a port the REPL is on needs borrowing; 0 idle seconds means it is kept until asked for.
  const shared = __CHUB_SHARED_CONSOLE__ ? new ConsolePort(hostPort, (board.consoleIdleS || 0) * 1000) : undefined;
  run(hostPort, openSerial('radio', board.radio), board.hubConfig, board.tickMs || 100, shared);
  console.log('chub ' + __CHUB_FW__ + ' on ' + board.name + ' started');
}

function run(hostPort: EspruinoSerial, radioPort: EspruinoSerial, cfg: HubConfig, tickMs: number, shared: ConsolePort | undefined): void {
  const link = new HostLink(
    function (b: Uint8Array) {
      // One whole frame per write; none while the REPL has the port (they would land in a flashing tool).
      if (!shared || shared.owned) hostPort.write(b);
    },
    E.CRC32, // native; the frame code compares it unsigned
    { encode: cborEncode, decode: cborDecode },
  );
  const radio = new ZnpDriver(function (b: Uint8Array) {
    radioPort.write(b);
  });
  // Messages for the host wait until the work in hand is finished (flush), so the CBOR encoding of,
  // say, a progress event is not stacked on top of the radio frame that caused it: on a small board the
  // peak of JsVars in use is what decides whether the hub runs at all. A job event therefore shows the
  // job as it is at the end of the handler that changed it.
  const outbox: Message[] = [];
  const flush = function () {
    while (outbox.length > 0) {
      try {
        link.send(outbox.shift() as Message);
      } catch (e) {
        report(e, 'host link send');
      }
    }
  };
  const hub = new Hub(
    {
      images: __CHUB_STORED__ ? new StorageImageStore() : NO_IMAGE_STORE,
      uploads: __CHUB_STORED__ ? new ImageUploads(parseImageHeader) : undefined,
      kv: new StorageKvStore(),
      radio: radio,
      sendHost: function (m: Message) {
        outbox.push(m);
      },
    },
    cfg,
  );

  hostPort.on('data', function (d: string) {
    if (shared && shared.isBreak(d, link.midFrame(), now())) return;
    // A burst of pipelined requests arrives as one long string: take it a slice at a time, so only a
    // slice's bytes and one or two decoded requests are in RAM at once, not the whole burst.
    for (let off = 0; off < d.length; off += HOST_SLICE) {
      try {
        const msgs = link.onBytes(E.toUint8Array(off === 0 && d.length <= HOST_SLICE ? d : d.substr(off, HOST_SLICE)));
        if (shared && msgs.length > 0) shared.heard(now());
        for (let i = 0; i < msgs.length; i++) {
          if (msgs[i].op === 'console') handOver(msgs[i]);
          else hub.onHostMessage(msgs[i], now());
          flush();
        }
        schedule();
      } catch (e) {
        report(e, 'host link');
      }
      sample();
    }
  });
  radioPort.on('data', function (d: string) {
    try {
      hub.onRadioBytes(E.toUint8Array(d), now());
    } catch (e) {
      report(e, 'radio');
    }
    flush();
    schedule();
    sample();
  });
  // The host asks for the REPL (to flash): answered first, so the answer still goes out as a frame.
  const handOver = function (m: Message) {
    if (!shared) return link.send({ i: m.i, ok: false, err: 'NO_CONSOLE', msg: 'the console is not on the host link port' });
    link.send({ i: m.i, ok: true });
    shared.give();
  };
  if (shared) {
    shared.take(now());
    global['chubLink'] = function () {
      (shared as ConsolePort).take(now());
    };
    // While the hub holds the port the interpreter prints to LoopbackA ("Uncaught ...", out of memory,
    // report() above), which no one would ever read: it goes to the host as log events instead, with
    // the next flush. (A piece too big for a frame fails to send, and that short report goes instead.)
    LoopbackB.on('data', function (d: string) {
      hub.log(d);
    });
  }
  // The hub ticks every tickMs, and sooner when it asks to (page blocks due before the next tick).
  let wake = 0;
  const tick = function () {
    try {
      if (shared) shared.tick(now());
      hub.tick(now());
    } catch (e) {
      report(e, 'tick');
    }
    flush();
    sample();
  };
  const schedule = function () {
    const at = hub.nextWake();
    if (at < 0 || wake) return;
    const ms = at - now();
    if (ms < tickMs)
      wake = setTimeout(function () {
        wake = 0;
        tick();
        schedule();
      }, ms > 0 ? ms : 0);
  };
  setInterval(tick, tickMs);
  if (debug) {
    setInterval(function () {
      const m = process.memory(false);
      console.log('CHUB_MEM ' + JSON.stringify({ usage: m.usage, free: m.free, total: m.total, peak: peak }));
    }, 500);
  }
  hub.start(now());
  flush();
  sample();
}

main();
