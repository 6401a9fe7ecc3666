// The board description the build bakes into the bundle (boards/<name>.json, checked on the host by
// host-tools/boards/board-file.ts), and its run-time override from the Storage file `chub.json`.
import { HubConfig } from '../core/hub';

export interface SerialConfig {
  /** Name of the UART object: Serial1, Serial2, ... */
  serial: string;
  baud: number;
  /** Pin names (e.g. "D8") when the board routes this UART to non-default pins. */
  rx?: string;
  tx?: string;
  /** Linux builds only: the device the port is connected to (a pty in tests). */
  path?: string;
}

export interface BoardConfig {
  name: string;
  host: SerialConfig;
  radio: SerialConfig;
  /** Boards whose REPL is on the host link's port: seconds without a good host frame before the hub
   *  gives the REPL the port back (0: never; console-port.ts). */
  consoleIdleS?: number;
  /** Period of the hub's timer, ms. */
  tickMs?: number;
  /** The hub core's whole config: DEFAULT_CONFIG with the board's values, filled in at build time
   *  (so the defaults table itself is not in the bundle). */
  hubConfig: HubConfig;
  /** Prints memory use on the console (set in chub.json for memory measurements). */
  debug?: boolean;
  /** Leaves the hub reachable at the REPL as `chubHub` (set in chub.json by make bench-footprint, which sizes
   *  its tables there: E.getSizeOf). */
  inspect?: boolean;
}

/** Silence timeouts (HubConfig.silenceTimeoutMs) a board may have: a second (bench tests) to a day. A board
 *  file's are checked on the host (board-file.ts), chub.json's on the board (overlayConfig). */
export const enum SilenceMs {
  Min = 1000,
  Max = 86400000,
}

/**
 * `over` laid onto `base`, one level deep for the nested objects (host, radio, hubConfig); `base` (the config
 * just parsed from the bundle, kept by nothing else) is changed in place and returned, so no copy of it or a
 * function to make one is held. chub.json is typed by hand on the board: a silence timeout out of range would
 * fail every transfer at once (0) or never (a typo), so `warn` hears of it and the board's own stays.
 */
export function overlayConfig(base: BoardConfig, over: unknown, warn: (msg: string) => void): BoardConfig {
  const own = base.hubConfig.silenceTimeoutMs;
  if (over === null || typeof over !== 'object') return base;
  const o = over as { [k: string]: unknown };
  const keys = Object.keys(o);
  const target = base as unknown as { [k: string]: unknown };
  for (let i = 0; i < keys.length; i++) {
    const v = o[keys[i]] as { [k: string]: unknown };
    const cur = target[keys[i]] as { [k: string]: unknown };
    if (v !== null && typeof v === 'object' && cur !== null && typeof cur === 'object') {
      const inner = Object.keys(v);
      for (let j = 0; j < inner.length; j++) cur[inner[j]] = v[inner[j]];
    } else target[keys[i]] = v;
  }
  const h = base.hubConfig;
  const s = h.silenceTimeoutMs;
  if (!(typeof s === 'number' && s >= SilenceMs.Min && s <= SilenceMs.Max)) {
    h.silenceTimeoutMs = own;
    warn('chub.json: "hubConfig.silenceTimeoutMs" must be between ' + SilenceMs.Min + ' and ' + SilenceMs.Max + ' ms, not ' + JSON.stringify(s) + "; the board's " + own + ' stays');
  }
  return base;
}
