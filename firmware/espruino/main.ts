// Firmware entry point on Espruino: board config → host-link UART ⇄ HostLink ⇄ Hub ⇄ ZnpDriver ⇄ radio UART.
// The board config is baked in at build time (boards/<name>.json) and can be overridden per board by a
// Storage file `chub.json`, e.g. {"host": {"path": "/tmp/a"}, "radio": {"path": "/tmp/b"}, "debug": true}.
import { cborDecode, cborEncode } from '../core/cbor';
import { HostLink, Message } from '../core/host-link';
import { DEFAULT_CONFIG, Hub, HubConfig } from '../core/hub';
import { ZnpDriver } from '../radio/znp-driver';
import { BoardConfig, overlayConfig, SerialConfig } from './board-config';
import { StorageImageStore } from './storage-image-store';
import { StorageKvStore } from './storage-kv-store';
import { storage } from './modules';

declare const __CHUB_BOARD__: BoardConfig;
declare const __CHUB_FW__: string;

function now(): number {
  return Math.floor(Date.now());
}

function openSerial(what: string, c: SerialConfig): EspruinoSerial {
  const port = global[c.serial] as EspruinoSerial | undefined;
  if (!port || typeof port.setup !== 'function') throw new Error(what + ': no UART named ' + c.serial);
  const opts: EspruinoSerialOptions = {};
  if (c.path) opts.path = c.path;
  if (c.rx) opts.rx = global[c.rx];
  if (c.tx) opts.tx = global[c.tx];
  port.setup(c.baud, opts);
  return port;
}

function hubConfig(board: BoardConfig): HubConfig {
  const cfg = {} as HubConfig;
  const keys = Object.keys(DEFAULT_CONFIG);
  const src = DEFAULT_CONFIG as unknown as { [k: string]: unknown };
  const dst = cfg as unknown as { [k: string]: unknown };
  for (let i = 0; i < keys.length; i++) dst[keys[i]] = src[keys[i]];
  cfg.fw = __CHUB_FW__;
  cfg.board = board.name;
  cfg.mode = board.imageMode;
  const h = board.hub;
  if (h) {
    if (h.maxChunk) cfg.maxChunk = h.maxChunk;
    if (h.maxDevices) cfg.maxDevices = h.maxDevices;
    if (h.maxBlock) cfg.maxBlock = h.maxBlock;
  }
  return cfg;
}

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

function main(): void {
  const board = overlayConfig(__CHUB_BOARD__, storage().readJSON('chub.json', true));
  debug = board.debug === true;
  const hostPort = openSerial('host link', board.host);
  const radioPort = openSerial('radio', board.radio);

  const link = new HostLink(
    function (b: Uint8Array) {
      hostPort.write(b); // one whole frame per write
    },
    function (b: Uint8Array) {
      return E.CRC32(b) >>> 0;
    },
    { encode: cborEncode, decode: cborDecode },
  );
  const radio = new ZnpDriver(function (b: Uint8Array) {
    radioPort.write(b);
  });
  const hub = new Hub(
    {
      images: new StorageImageStore(),
      kv: new StorageKvStore(),
      radio: radio,
      sendHost: function (m: Message) {
        link.send(m);
      },
    },
    hubConfig(board),
  );

  hostPort.on('data', function (d: string) {
    try {
      const msgs = link.onBytes(E.toUint8Array(d));
      for (let i = 0; i < msgs.length; i++) hub.onHostMessage(msgs[i], now());
    } catch (e) {
      report(e, 'host link');
    }
    sample();
  });
  radioPort.on('data', function (d: string) {
    try {
      hub.onRadioBytes(E.toUint8Array(d), now());
    } catch (e) {
      report(e, 'radio');
    }
    sample();
  });
  setInterval(function () {
    try {
      hub.tick(now());
    } catch (e) {
      report(e, 'tick');
    }
    sample();
  }, board.tickMs || 100);
  if (debug) {
    setInterval(function () {
      const m = process.memory(false);
      console.log('CHUB_MEM ' + JSON.stringify({ usage: m.usage, free: m.free, total: m.total, peak: peak }));
    }, 500);
  }
  hub.start(now());
  sample();
  console.log('chub ' + __CHUB_FW__ + ' on ' + board.name + ' started');
}

main();
