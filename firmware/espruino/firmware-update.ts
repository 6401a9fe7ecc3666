// The hub's own firmware over the host link (fw.begin / fw.data / fw.end, docs/host-link.md), for boards
// whose Storage holds two copies of the bundle: written to chub.bootnew, which nothing boots, beside the
// running .bootcde; fw.end checks its CRC-32 and only then copies it over .bootcde and restarts. Until
// then .bootcde is untouched, so a drop or a power cut mid-update leaves the old hub running and booting.
import { Err, Op } from '../core/codes';
import { Hub } from '../core/hub';
import { Item, w } from '../core/wire';
import { storage } from './modules';

/** The name `chub flash`'s espruino CLI path stages its bundle under too (host-tools/commands/flash.ts). */
const NEW = 'chub.bootnew';
/** A Storage file's header and alignment slack, on top of its bytes. */
const OVERHEAD = 48;
/** Storage kept free for the hub's state files while the update is written: build-firmware.ts's
 *  STATE_RESERVE_BYTES, baked in by the build (the host's flash checks count the same room). */
declare const __CHUB_STATE_RESERVE__: number;
const RESERVE = __CHUB_STATE_RESERVE__;
/** The reply's time on the line before the board restarts. */
const RESTART_MS = 250;

// The update under way, in RAM: size 0 when none. A link that drops leaves it, so the next fw.begin with the
// same size and CRC resumes at `fwNext`; a restart forgets it, and the next fw.begin starts the file over.
let fwSize = 0;
let fwCrc = 0;
let fwNext = 0;

/**
 * Runs `code` and then load() from a string built at run time, so in RAM: the hub's functions live in
 * .bootcde, and a compaction moves them (Storage.compact's own warning). clearInterval() first: no timer of
 * the old hub runs before load() takes effect, which is at the end of the interpreter's idle loop.
 */
function restart(code: string): void {
  setTimeout(eval, RESTART_MS, 'clearInterval();var S=require("Storage");' + code + 'load()');
}

export function firmwareUpdates(h: Hub, op: number, a: Item[]): void {
  const s = storage();
  if (op === Op.FwBegin) {
    const size = h.arg(a, 0, 0);
    const crc = h.arg(a, 1, 0) >>> 0;
    if (!size) h.no(Err.BAD_SIZE);
    if (size !== fwSize || crc !== fwCrc) {
      fwSize = 0;
      s.erase(NEW);
      const need = size + OVERHEAD;
      const st = s.getStats();
      // Two copies: chub.bootnew, and .bootcde's new one beside the old until the copy is done.
      if (st.freeBytes + st.trashBytes < 2 * need + RESERVE) h.no(Err.FW_NO_ROOM, 2 * need + RESERVE, st.freeBytes + st.trashBytes);
      // chub.bootnew must fit without the compaction Storage.write would do by itself under the running hub.
      if (st.freeBytes < need + RESERVE) {
        restart('S.compact();');
        h.no(Err.FW_COMPACTING);
      }
      s.write(NEW, '', 0, size);
      fwSize = size;
      fwCrc = crc;
      fwNext = 0;
    }
    w(fwNext);
    return;
  }
  if (!fwSize) h.no(Err.NO_UPLOAD);
  if (op === Op.FwData) {
    const off = h.arg(a, 0, 0);
    const d: Uint8Array = h.arg(a, 1, 2);
    if (off !== fwNext) h.no(Err.OUT_OF_ORDER, fwNext);
    if (off + d.length > fwSize) h.no(Err.TOO_LONG, fwSize);
    // With the size, a write at offset 0 keeps the allocation rather than making the file anew.
    s.write(NEW, d, off, fwSize);
    fwNext = off + d.length;
    w(fwNext);
    return;
  }
  // fw.end: only a whole, intact copy replaces .bootcde; a bad one is dropped and the old hub runs on.
  if (fwNext !== fwSize) h.no(Err.INCOMPLETE, fwNext, fwSize);
  const crc = E.CRC32(s.read(NEW) as string) >>> 0;
  const want = fwCrc;
  fwSize = 0;
  if (crc !== want) {
    s.erase(NEW);
    h.no(Err.CRC_MISMATCH, crc, want);
  }
  // Compacted first when the copy needs it: a compaction during the copy would move chub.bootnew while it is
  // read. Written again (at most twice) while .bootcde does not read back as the checked copy, which is
  // erased only once it does.
  restart(
    'if(S.getFree()<' + (fwNext + OVERHEAD) + ')S.compact();var c=0;' +
      'while(c++<3&&E.CRC32(S.read(".bootcde"))>>>0!=' + want + ')S.write(".bootcde",S.read("' + NEW + '"));' +
      'if(E.CRC32(S.read(".bootcde"))>>>0==' + want + ')S.erase("' + NEW + '");',
  );
}
