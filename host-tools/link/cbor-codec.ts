// The host side of the host-link body codec: cbor-x set to plain CBOR that firmware/core/cbor.ts reads
// (FACTS §7), and decoding maps to plain objects as the firmware does.
import { Encoder, Options } from 'cbor-x';
import type { BodyCodec, Message } from '../../firmware/core/host-link';

// cbor-x 1.6.8 honours useTag259ForMaps but its typings omit it.
const PLAIN_CBOR: Options & { useTag259ForMaps: boolean } = {
  useRecords: false, // records are cbor-x's own tagged extension (tag 105)
  variableMapSize: true, // minimal map length heads instead of a fixed 16-bit length
  tagUint8Array: false, // byte strings without tag 64
  useTag259ForMaps: false, // maps without tag 259
  mapsAsObjects: true, // decode maps to plain objects, not Map
};

// One instance does both directions: an Encoder is also a Decoder with the same options.
const cbor = new Encoder(PLAIN_CBOR);

export const hostCodec: BodyCodec = {
  encode: (m: Message) => cbor.encode(m),
  decode: (b: Uint8Array) => cbor.decode(b),
};
