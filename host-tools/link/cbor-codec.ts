// The host side of the host-link body codec: cbor-x set to plain CBOR (FACTS §7), in the subset the hub
// speaks (firmware/core/wire.ts): one flat array of unsigned integers, byte strings, text and null.
import { Encoder, Options } from 'cbor-x';

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

/** A body from the hub; throws when it is not CBOR. */
export function decodeBody(b: Uint8Array): unknown {
  return cbor.decode(b);
}
