// The `TYPE:EUI[:hw=N][:version=N]` form that names a simulated device on the command line.
import { normaliseEui } from '../../firmware/core/bytes';
import { DEFAULT_FILE_VERSION, DEFAULT_HARDWARE_VERSION, DEFAULT_IMAGE_TYPE, DEFAULT_MANUFACTURER_CODE } from './defaults';
import { SimDeviceSpec } from './ota-client';

/** Network addresses handed to simulated devices, in order of their arguments. */
export const FIRST_NWK = 0x1001;

/** "0x1234" or "4660"; null if neither. */
export function parseNumber(s: string): number | null {
  const t = s.trim();
  if (/^0x[0-9a-f]+$/i.test(t)) return parseInt(t.slice(2), 16);
  if (/^[0-9]+$/.test(t)) return parseInt(t, 10);
  return null;
}

export interface DeviceDefaults {
  manufacturerCode?: number;
  imageType?: number;
}

/** Parses one device argument; throws an Error saying what form was expected. */
export function parseDeviceSpec(arg: string, index: number, d: DeviceDefaults = {}): SimDeviceSpec {
  const [type, euiArg, ...opts] = arg.split(':');
  const t = (type ?? '').toUpperCase();
  const eui = normaliseEui(euiArg ?? '');
  if ((t !== 'PPMID' && t !== 'HCALCS') || eui === null)
    throw new Error(`device "${arg}": want TYPE:EUI[:hw=N][:version=N] with TYPE PPMID or HCALCS and a 16-hex-digit EUI`);
  const spec: SimDeviceSpec = {
    type: t,
    eui,
    nwk: FIRST_NWK + index,
    manufacturerCode: d.manufacturerCode ?? DEFAULT_MANUFACTURER_CODE,
    imageType: d.imageType ?? DEFAULT_IMAGE_TYPE,
    fileVersion: DEFAULT_FILE_VERSION,
    hardwareVersion: DEFAULT_HARDWARE_VERSION,
  };
  for (const o of opts) {
    const m = /^(hw|version)=(.+)$/.exec(o);
    const n = m ? parseNumber(m[2]) : null;
    if (!m || n === null) throw new Error(`device "${arg}": unknown option "${o}" (want hw=N or version=N)`);
    if (m[1] === 'hw') spec.hardwareVersion = n;
    else spec.fileVersion = n;
  }
  return spec;
}
