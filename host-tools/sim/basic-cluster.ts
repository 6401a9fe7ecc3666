// A simulated device's Basic cluster server (ZCL rev 8 §3.2): answers Read Attributes for the attributes a
// ZNP host reads when it interviews a new device (zigbee-herdsman reads modelId, manufacturerName,
// powerSource, zclVersion, appVersion, stackVersion, hwVersion, dateCode, swBuildId one at a time).
import { ByteWriter } from '../../firmware/core/bytes';
import {
  buildZclFrame,
  CMD_READ_ATTRIBUTES,
  CMD_READ_ATTRIBUTES_RESPONSE,
  decodeReadAttributes,
  DIR_CLIENT_TO_SERVER,
  DIR_SERVER_TO_CLIENT,
  FRAME_TYPE_GLOBAL,
  parseZclFrame,
  TYPE_UINT8,
} from '../../firmware/core/zcl-frame';

export const BASIC_CLUSTER = 0x0000;

/** ZCL data types (ZCL §2.6.2): 8-bit enumeration and character string (length-prefixed). */
const TYPE_ENUM8 = 0x30;
const TYPE_CHAR_STRING = 0x42;
/** ZCL status UNSUPPORTED_ATTRIBUTE (ZCL §2.6.3). */
const UNSUPPORTED_ATTRIBUTE = 0x86;
/** ZCLVersion of a ZCL rev 8 device (§3.2.2.2.1). */
const ZCL_VERSION = 8;
/** PowerSource 0x01: mains, single phase (§3.2.2.2.8). PPMIDs and HCALCSs are mains powered. */
const MAINS_SINGLE_PHASE = 0x01;
/** StackVersion: ZigBee PRO (the stack version field of OTA headers, OTA spec §11.4.2.6, uses 2 too). */
const ZIGBEE_PRO = 2;

/** What the Basic cluster reports of the device; read when asked, so a new running version shows. */
export interface BasicIdentity {
  manufacturerName: string;
  modelId: string;
  hardwareVersion(): number;
  fileVersion(): number;
}

type Value = { type: number; value: number } | { type: typeof TYPE_CHAR_STRING; text: string };

/** Attribute ids (§3.2.2.2) and their values. */
function attribute(id: number, d: BasicIdentity): Value | null {
  switch (id) {
    case 0x0000:
      return { type: TYPE_UINT8, value: ZCL_VERSION };
    case 0x0001: // ApplicationVersion: the low byte of the running OTA file version
      return { type: TYPE_UINT8, value: d.fileVersion() & 0xff };
    case 0x0002:
      return { type: TYPE_UINT8, value: ZIGBEE_PRO };
    case 0x0003:
      return { type: TYPE_UINT8, value: d.hardwareVersion() & 0xff };
    case 0x0004:
      return { type: TYPE_CHAR_STRING, text: d.manufacturerName };
    case 0x0005:
      return { type: TYPE_CHAR_STRING, text: d.modelId };
    case 0x0006: // DateCode: none kept; the ZCL says an empty string is allowed
      return { type: TYPE_CHAR_STRING, text: '' };
    case 0x0007:
      return { type: TYPE_ENUM8, value: MAINS_SINGLE_PHASE };
    case 0x4000: // SWBuildID: the running OTA file version in hex
      return { type: TYPE_CHAR_STRING, text: d.fileVersion().toString(16).padStart(8, '0') };
  }
  return null;
}

/** The Read Attributes Response to a Read Attributes request, or null for anything else (not answered). */
export function basicClusterAnswer(request: Uint8Array, d: BasicIdentity): Uint8Array | null {
  let ids: number[];
  let seq: number;
  try {
    const f = parseZclFrame(request);
    if (f.header.frameType !== FRAME_TYPE_GLOBAL || f.header.commandId !== CMD_READ_ATTRIBUTES || f.header.direction !== DIR_CLIENT_TO_SERVER) return null;
    ids = decodeReadAttributes(f.payload);
    seq = f.header.seq;
  } catch {
    return null;
  }
  // Records: id u16, status u8, then on success type u8 and the value (ZCL §2.5.2).
  const w = new ByteWriter();
  for (const id of ids) {
    const a = attribute(id, d);
    w.u16(id);
    if (!a) {
      w.u8(UNSUPPORTED_ATTRIBUTE);
      continue;
    }
    w.u8(0).u8(a.type);
    if ('text' in a) w.u8(a.text.length).bytes(new TextEncoder().encode(a.text));
    else w.u8(a.value);
  }
  const h = { frameType: FRAME_TYPE_GLOBAL, direction: DIR_SERVER_TO_CLIENT, disableDefaultResponse: true, seq, commandId: CMD_READ_ATTRIBUTES_RESPONSE };
  return buildZclFrame(h, w.done());
}
