// `chub flash` over the hub's own host link (fw.begin / fw.data / fw.end, docs/host-link.md), for a board
// that runs a hub with Storage for two copies of its firmware: framed chunks with a CRC each, pipelined
// and resent as image uploads are (HubClient.sendChunks), to a file beside the running .bootcde. The hub
// checks the whole file's CRC-32 and only then copies it over .bootcde and restarts
// (firmware/espruino/firmware-update.ts). A drop before that leaves the old hub running and booting, and
// holding what it got: the next fw.begin for the same bundle resumes there.
import * as zlib from 'zlib';
import { HelloInfo, HubClient, HubError, Progress } from '../link/hub-client';

/** The hub cannot take its firmware over the link: its board has no room for two copies, or it speaks no
 *  fw.* (an older hub). The espruino CLI writes it instead. */
export class NotOverLink extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotOverLink';
  }
}

/** Refusals of fw.begin that send the flash to the espruino CLI. */
const NOT_OVER_LINK = new Set(['NO_FW_UPDATE', 'FW_NO_ROOM', 'BAD_OP']);
/** fw.begin after a compaction restart, at most this many times. */
const COMPACTIONS = 2;
/** Whole writes before giving up, as the CLI path: a copy that fails its whole-file CRC is sent again. */
const LINK_WRITES = 3;
/** fw.end checks the whole file's CRC-32 before it answers. */
const END_TIMEOUT_MS = 20000;

export interface LinkFlash {
  /** Offset the first write resumed from (a flash cut short before). */
  resumedFrom: number;
  /** Bytes sent, resends included. */
  sent: number;
  /** Whole writes it took (a copy that failed the hub's CRC check is written again). */
  writes: number;
  /** The hub compacted its Storage (and restarted) to make room first. */
  compacted: boolean;
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Opens the host link once the hub answers hello (it may be booting), or gives up after `ms`. */
export async function helloWithin(port: string, ms: number): Promise<HubClient> {
  const until = Date.now() + ms;
  let last: Error = new Error('no attempt');
  while (Date.now() < until) {
    try {
      return await HubClient.open(port, Math.min(3000, Math.max(500, until - Date.now())));
    } catch (e) {
      last = e as Error;
      await pause(300);
    }
  }
  throw new Error(`the hub did not answer hello on ${port} within ${ms} ms: ${last.message}`);
}

/** The hub's hello once it reports `version` (the old one answers until it restarts), or an error after `ms`. */
export async function helloWithVersion(port: string, version: string, ms: number): Promise<HelloInfo> {
  const until = Date.now() + ms;
  let seen = '';
  for (;;) {
    const hub = await helloWithin(port, Math.max(1000, until - Date.now()));
    const info = hub.info;
    await hub.close();
    if (info.fw === version) return info;
    seen = info.fw;
    if (Date.now() >= until) throw new Error(`the hub on ${port} still reports version ${seen}, not ${version}, ${ms} ms after it took the new firmware`);
    await pause(300);
  }
}

/**
 * Writes `bundle` to the hub on `hub` (an open client; closed here) and has it switch. Resolves once fw.end
 * is answered (or its reply is lost: the caller's hello with the new version is the proof). Throws
 * NotOverLink when the hub cannot take it this way; any other error leaves .bootcde as it was.
 */
export async function flashOverLink(first: HubClient, bundle: Uint8Array, timeoutMs: number, onProgress?: Progress): Promise<LinkFlash> {
  const port = first.path;
  const size = bundle.length;
  const crc = zlib.crc32(bundle) >>> 0;
  let hub = first;
  let compactions = 0;
  let resumedFrom = -1;
  let sent = 0;
  let at = 0;
  try {
    for (let writes = 1; ; writes++) {
      let from: number;
      for (;;) {
        try {
          from = (await hub.request('fw.begin', { size, crc })).next as number;
          break;
        } catch (e) {
          const code = (e as HubError).code;
          if (NOT_OVER_LINK.has(code)) throw new NotOverLink(code === 'BAD_OP' ? `the hub on ${port} (version ${hub.info.fw}) takes no firmware over its link` : (e as Error).message);
          if (code !== 'FW_COMPACTING' || ++compactions > COMPACTIONS) throw e;
          await hub.close();
          hub = await helloWithin(port, timeoutMs);
        }
      }
      if (resumedFrom < 0) resumedFrom = from;
      at = from;
      onProgress?.(from, size);
      try {
        sent += await hub.sendChunks('fw.data', {}, bundle, from, (done, total) => {
          at = done;
          onProgress?.(done, total);
        });
      } catch (e) {
        throw new Error(
          `the update over the link to the hub on ${port} stopped at ${at} of ${size} bytes (${(e as Error).message}): .bootcde is untouched, ` +
            'the old firmware runs and boots; chub flash again resumes it',
        );
      }
      try {
        await hub.request('fw.end', {}, END_TIMEOUT_MS);
        return { resumedFrom, sent, writes, compacted: compactions > 0 };
      } catch (e) {
        const code = (e as HubError).code;
        // The reply lost (the hub may be restarting already): the new version's hello decides.
        if (code === 'TIMEOUT' || code === 'CLOSED' || code === 'PORT') return { resumedFrom, sent, writes, compacted: compactions > 0 };
        // The hub dropped a copy whose whole-file CRC was wrong and runs on: written again from 0.
        if (code !== 'CRC_MISMATCH' || writes >= LINK_WRITES) throw e;
      }
    }
  } finally {
    await hub.close();
  }
}
