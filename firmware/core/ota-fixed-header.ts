// The OTA upgrade file's header (ZigBee OTA Upgrade Cluster spec 095264r23 §6.3; FACTS §2): its layout, and
// the one check of it. A hub that stores images runs the check on an upload before serving it; the host's
// parseImageHeader (image-header.ts) runs the same check and adds its words, header string, sub-elements
// and warnings, so both refuse the same files. Written for the device: one function, indexed reads,
// numbers out, nothing allocated.

/** Where the header's fields are (little-endian), and its values the check needs. */
export const enum Ota {
  /** u32 0x0BEEF11E at 0. */
  Magic = 0x0beef11e,
  /** u16 header version: only its major byte (0x01) changes the layout. */
  Version = 4,
  Major = 1,
  /** u16 header length, u16 field control (Fc), u16 manufacturer code, u16 image type. */
  Length = 6,
  Control = 8,
  Mfr = 10,
  Type = 12,
  /** u32 file version, u16 ZigBee stack version, 32-byte header string. */
  FileVersion = 14,
  Stack = 18,
  Text = 20,
  TextBytes = 32,
  /** u32 total image size, the header included. */
  Total = 52,
  /** The fixed part's length; the optional fields follow it in Fc's order. */
  Fixed = 56,
  /** Optional fields' lengths: security credential version u8, upgrade file destination EUI-64, min and max hardware version u16 each. */
  SecurityBytes = 1,
  DestinationBytes = 8,
  HardwareBytes = 4,
  /** The longest header with known fields: the fixed part and every optional field. */
  Max = 69,
}

/** Field control bits: which optional fields the header holds. */
export const enum Fc {
  Security = 1,
  Destination = 2,
  Hardware = 4,
}

/** The check's answer: 0, or why the file cannot be served (parseImageHeader's code: HEADER_CODES). */
export const enum Hc {
  Ok,
  /** The file does not start with the magic (NO_MAGIC). */
  NoMagic,
  /** Fewer than Ota.Fixed bytes from the magic on (TRUNCATED). */
  Short,
  /** A header version other than 0x01xx (UNKNOWN_HEADER_VERSION). */
  Version,
  /** A header length shorter than the fields its field control names (BAD_HEADER_LENGTH). */
  Length,
  /** A total image size smaller than the header length (SIZE_MISMATCH). */
  Size,
  /** Fewer bytes than the total image size (TRUNCATED); more are trailing bytes, not a refusal. */
  Truncated,
}

/** Where the check writes a valid header's fields, after the caller's offset: the hub's image row from I.Mfr
 *  (hub.ts keeps I.Mfr, I.Type, I.Ver, I.MinHw, I.MaxHw in this order). */
export const enum Hf {
  Mfr,
  Type,
  Ver,
  MinHw,
  MaxHw,
}

/**
 * Checks the OTA header in `b`, the first bytes of a file of `n` bytes from its magic on (at least Ota.Max of
 * them, or all when the file is shorter). Returns Hc.Ok and writes the manufacturer code, image type, file
 * version and min and max hardware version (-1 when absent) into row[o + Hf.*], or returns why not (row
 * untouched).
 */
export function checkHeader(b: Uint8Array, n: number, row: { [i: number]: number }, o: number): number {
  // Bytes past the end read as undefined, which shifts as 0: a file under 4 bytes has no magic.
  if ((b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) !== Ota.Magic) return Hc.NoMagic;
  if (b.length < Ota.Fixed) return Hc.Short;
  if (b[Ota.Version + 1] !== Ota.Major) return Hc.Version;
  const fc = b[Ota.Control];
  const hw = Ota.Fixed + (fc & Fc.Security ? Ota.SecurityBytes : 0) + (fc & Fc.Destination ? Ota.DestinationBytes : 0);
  const len = b[Ota.Length] | (b[Ota.Length + 1] << 8);
  if (len < hw + (fc & Fc.Hardware ? Ota.HardwareBytes : 0)) return Hc.Length;
  const total = (b[Ota.Total] | (b[Ota.Total + 1] << 8) | (b[Ota.Total + 2] << 16)) + b[Ota.Total + 3] * 0x1000000;
  if (total < len) return Hc.Size;
  if (n < total) return Hc.Truncated;
  // Valid: the optional fields lie within the header, so within b.
  row[o + Hf.Mfr] = b[Ota.Mfr] | (b[Ota.Mfr + 1] << 8);
  row[o + Hf.Type] = b[Ota.Type] | (b[Ota.Type + 1] << 8);
  row[o + Hf.Ver] = (b[Ota.FileVersion] | (b[Ota.FileVersion + 1] << 8) | (b[Ota.FileVersion + 2] << 16)) + b[Ota.FileVersion + 3] * 0x1000000;
  row[o + Hf.MinHw] = fc & Fc.Hardware ? b[hw] | (b[hw + 1] << 8) : -1;
  row[o + Hf.MaxHw] = fc & Fc.Hardware ? b[hw + 2] | (b[hw + 3] << 8) : -1;
  return Hc.Ok;
}
