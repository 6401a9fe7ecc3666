// The CH Device Log: the whitelist of HAN devices the hub will talk to (FACTS §1, GBCS Device Log).
import { codedError, normaliseEui } from './bytes';

/** GBCS DeviceType values (GBCS Table 16.2); the hub distributes firmware to these two. */
export const DEVICE_TYPES: { [name: string]: number } = { HCALCS: 4, PPMID: 5 };

export interface Device {
  eui: string;
  type: string; // 'PPMID' | 'HCALCS'
  nwk?: number;
  endpoint?: number;
  /** Last version the device reported (Query Next Image or a read of CurrentFileVersion). */
  fileVersion?: number;
  hardwareVersion?: number;
  lastSeen?: number;
}

export class DeviceLog {
  private byEui: { [eui: string]: Device } = {};
  constructor(private capacity: number, saved?: unknown) {
    if (Array.isArray(saved)) for (let i = 0; i < saved.length; i++) this.byEui[saved[i].eui] = saved[i];
  }

  add(eui: string, type: string): Device {
    const norm = normaliseEui(eui);
    if (norm === null) throw codedError('BAD_EUI', 'not an EUI-64: ' + eui + ' (want 16 hex digits)');
    if (DEVICE_TYPES[type] === undefined) throw codedError('BAD_TYPE', 'device type must be PPMID or HCALCS, not ' + type);
    const existing = this.byEui[norm];
    if (existing) {
      existing.type = type;
      return existing;
    }
    if (this.list().length >= this.capacity) throw codedError('LOG_FULL', 'device log is full (' + this.capacity + ' devices)');
    const d: Device = { eui: norm, type: type };
    this.byEui[norm] = d;
    return d;
  }

  remove(eui: string): void {
    const d = this.get(eui);
    delete this.byEui[d.eui];
  }

  /** The device, or an UNKNOWN_DEVICE error naming it. */
  get(eui: string): Device {
    const d = this.find(eui);
    if (!d) throw codedError('UNKNOWN_DEVICE', 'device ' + eui + ' is not in the device log');
    return d;
  }

  find(eui: string): Device | undefined {
    const norm = normaliseEui(eui);
    return norm === null ? undefined : this.byEui[norm];
  }

  byNwk(nwk: number): Device | undefined {
    const all = this.list();
    for (let i = 0; i < all.length; i++) if (all[i].nwk === nwk) return all[i];
    return undefined;
  }

  /** Records where a joined device can be reached; another device that held the address loses it. */
  bind(d: Device, nwk: number, now: number): void {
    const previous = this.byNwk(nwk);
    if (previous && previous !== d) delete previous.nwk;
    d.nwk = nwk;
    d.lastSeen = now;
  }

  list(): Device[] {
    const out: Device[] = [];
    const keys = Object.keys(this.byEui);
    for (let i = 0; i < keys.length; i++) out.push(this.byEui[keys[i]]);
    return out;
  }
}
