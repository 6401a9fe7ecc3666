// GBCS firmware transfer alerts held until the host acknowledges them (FACTS §1, CCS08 / CS08).

export const ALERT_TRANSFER_FAILED = 0x8f89;
export const ALERT_TRANSFER_SUCCEEDED = 0x8f8a;
export const ALERT_VERSION_READ = 0x8f8b;

/** GBCS responseCode of 0x8F89/0x8F8A. */
export const enum RESPONSE { SUCCESS = 0, IMAGE_DISCARDED = 1, HARDWARE_VERSION_MISMATCH = 2, FILE_TRANSFER_FAILURE = 3 }

export interface Alert {
  id: number;
  code: number;
  eui: string;
  /** executionDateTime, unix ms. */
  time: number;
  fileVersion?: number;
  responseCode?: number;
  activationStatus?: number;
}

interface Saved {
  next: number;
  held: Alert[];
}

export class AlertQueue {
  private next = 1;
  /** Alerts not yet acknowledged, oldest first. */
  held: Alert[] = [];
  constructor(saved?: unknown) {
    const s = saved as Saved | undefined;
    if (s && Array.isArray(s.held)) {
      this.held = s.held;
      this.next = s.next;
    }
  }

  raise(a: { code: number; eui: string; time: number; fileVersion?: number; responseCode?: number; activationStatus?: number }): Alert {
    const alert: Alert = { id: this.next++, code: a.code, eui: a.eui, time: a.time };
    if (a.fileVersion !== undefined) alert.fileVersion = a.fileVersion;
    if (a.responseCode !== undefined) alert.responseCode = a.responseCode;
    if (a.activationStatus !== undefined) alert.activationStatus = a.activationStatus;
    this.held.push(alert);
    return alert;
  }

  list(): Alert[] {
    return this.held.slice();
  }

  /** Drops the named alerts; returns how many were still held (a repeated ack counts 0). */
  ack(ids: number[]): number {
    const keep: Alert[] = [];
    let n = 0;
    for (let i = 0; i < this.held.length; i++) {
      if (ids.indexOf(this.held[i].id) >= 0) n++;
      else keep.push(this.held[i]);
    }
    this.held = keep;
    return n;
  }

  save(): Saved {
    return { next: this.next, held: this.held };
  }
}
