// Fair use of one radio by many OTA sessions: frames wait in a queue per device and leave in
// round-robin order, with at most `window` frames unconfirmed on the radio at once. Without it one
// client's page run (or a burst of retries) would hold every other device behind it.
// Frames leave only in pump(), which the hub calls once its work for an input is done: encoding a radio
// frame then happens after the input's decoded frames are garbage, not on top of them (the peak of
// memory in use is what decides whether the hub fits a small board).
import { Radio, RadioAddress } from '../ports/radio';

export interface OutboxConfig {
  /** Frames sent but not yet confirmed by the co-processor. */
  radioWindow: number;
  /** A frame without an AF_DATA_CONFIRM after this long no longer counts as in flight. */
  confirmTimeoutMs: number;
}

interface Pending {
  dst: RadioAddress;
  cluster: number;
  data: Uint8Array;
}

export class RadioOutbox {
  private queues: { [key: string]: Pending[] } = {};
  /** Devices with queued frames, in the order they get their next turn. */
  private turn: string[] = [];
  /** handle → deadline of frames on the radio. */
  private inFlight: { [handle: string]: number } = {};
  private flying = 0;
  sent = 0;

  constructor(private cfg: OutboxConfig, private radio: Radio) {}

  enqueue(key: string, dst: RadioAddress, cluster: number, data: Uint8Array): void {
    let q = this.queues[key];
    if (!q) {
      q = this.queues[key] = [];
      this.turn.push(key);
    }
    q.push({ dst: dst, cluster: cluster, data: data });
  }

  /** Frames still waiting for a device (not counting those on the radio). */
  queued(key: string): number {
    const q = this.queues[key];
    return q ? q.length : 0;
  }

  /** Drops what is still waiting for a device (its page run was cancelled, its session ended). */
  clear(key: string): void {
    if (!this.queues[key]) return;
    delete this.queues[key];
    this.turn.splice(this.turn.indexOf(key), 1);
  }

  confirmed(handle: number): void {
    if (this.inFlight[handle] === undefined) return;
    delete this.inFlight[handle];
    this.flying--;
  }

  tick(now: number): void {
    const hs = Object.keys(this.inFlight);
    for (let i = 0; i < hs.length; i++) {
      if (this.inFlight[hs[i]] <= now) {
        delete this.inFlight[hs[i]];
        this.flying--;
      }
    }
  }

  /** Sends what the radio window allows, fairly across devices. */
  pump(now: number): void {
    while (this.flying < this.cfg.radioWindow && this.turn.length > 0) {
      const key = this.turn.shift() as string;
      const q = this.queues[key];
      const p = q.shift() as Pending;
      if (q.length > 0) this.turn.push(key);
      else delete this.queues[key];
      const handle = this.radio.send(p.dst, p.cluster, p.data, now);
      // A reused handle (u8 transaction ids wrap) replaces the stale entry rather than leaking a slot.
      if (this.inFlight[handle] === undefined) this.flying++;
      this.inFlight[handle] = now + this.cfg.confirmTimeoutMs;
      this.sent++;
    }
  }
}
