// Per-device OTA transfer session: what the hub remembers about one client while it pulls an image —
// its pacing and the page run being served to it (OTA spec 095264r23 §6.10.7–6.10.8).
import { ImageId } from './zcl-ota';

export interface PageRun {
  id: ImageId;
  /** Next offset to send and the end of the page (exclusive). */
  off: number;
  end: number;
  maxDataSize: number;
  spacingMs: number;
  nextAt: number;
  seq: number;
}

export class OtaSession {
  /** Minimum block period the client stated (ms), honoured when spacing page responses. */
  clientMinPeriodMs = 0;
  /** When the hub last served this client a block, and when the client last asked for anything. */
  lastBlockAt = -1;
  lastSeen = 0;
  /** The block period (ms) the hub last asked this client for, and whether it now says it in seconds, as the
   *  client evidently reads it (FACTS §2). */
  periodAskedMs = 0;
  periodInSeconds = false;
  /** Whether the session holds one of the hub's concurrent transfer slots. */
  admitted = false;
  page: PageRun | null = null;

  constructor(readonly eui: string) {}

  startPage(id: ImageId, off: number, size: number, pageSize: number, maxDataSize: number, responseSpacing: number, seq: number, now: number): void {
    this.page = {
      id: id,
      off: off,
      end: Math.min(size, off + pageSize),
      maxDataSize: maxDataSize,
      spacingMs: Math.max(responseSpacing, this.clientMinPeriodMs),
      nextAt: now,
      seq: seq,
    };
  }

  /** The next block of the page due at `now`, advancing the run; null when none is due. */
  duePageBlock(now: number, maxBlock: number): { id: ImageId; off: number; n: number; seq: number } | null {
    const p = this.page;
    if (!p || now < p.nextAt) return null;
    const n = Math.min(p.maxDataSize, maxBlock, p.end - p.off);
    const block = { id: p.id, off: p.off, n: n, seq: p.seq };
    p.off += n;
    p.nextAt = now + p.spacingMs;
    if (p.off >= p.end) this.page = null;
    return block;
  }
}
