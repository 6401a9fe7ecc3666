// The host side of the host-link body codec: cbor-x set to plain CBOR (FACTS §7), in the subset the hub
// speaks (firmware/core/wire.ts): one flat array of unsigned integers, byte strings, text and null.
import { Encoder, Options } from 'cbor-x';
import type { Item } from '../../firmware/core/wire';

// cbor-x 1.6.8 honours useTag259ForMaps and int64AsNumber but its typings omit them.
const PLAIN_CBOR: Options & { useTag259ForMaps: boolean; int64AsNumber: boolean } = {
  useRecords: false, // records are cbor-x's own tagged extension (tag 105)
  variableMapSize: true, // minimal map length heads instead of a fixed 16-bit length
  tagUint8Array: false, // byte strings without tag 64
  useTag259ForMaps: false, // maps without tag 259
  mapsAsObjects: true, // a map (which the hub never sends) decodes to a plain object, not a Map
  int64AsNumber: true, // a 64-bit uint (unix ms times from the hub) decodes to a number, not a BigInt
};

// One instance does both directions: an Encoder is also a Decoder with the same options.
const cbor = new Encoder(PLAIN_CBOR);

/** The largest uint cbor-x writes as an integer: it writes larger numbers as float64, which the hub refuses. */
const MAX_UINT32 = 0xffffffff;

/** A request array as the hub reads it: integers past 32 bits (unix ms times) go as 64-bit CBOR uints. */
export function encodeBody(items: unknown[]): Uint8Array {
  return cbor.encode(items.map((v) => (typeof v === 'number' && v > MAX_UINT32 && Number.isSafeInteger(v) ? BigInt(v) : v)));
}

/** One item of the hub's subset: cbor-x decodes CBOR's other kinds to other things (maps to objects). */
function isItem(v: unknown): v is Item {
  return v === null || typeof v === 'string' || v instanceof Uint8Array || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0);
}

/** A body from the hub. Throws when it is not CBOR, or not the flat array of the hub's subset: nothing else
 *  reaches chub, so no map's keys (`__proto__` among them) become an object's. */
export function decodeBody(b: Uint8Array): Item[] {
  const v: unknown = cbor.decode(b);
  if (!Array.isArray(v)) throw new TypeError('a host-link body must be a CBOR array');
  const bad = v.findIndex((x) => !isItem(x));
  if (bad >= 0) throw new TypeError(`item ${bad} of a host-link body is not an unsigned integer, byte string, text or null`);
  return v;
}
