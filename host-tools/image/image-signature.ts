// The signature of a GBCS firmware image (FACTS §1; docs/images.md). Layout as FACTS gives it, not yet
// checked against the GBCS text, so it is all here:
//   OTA file | ForceReplace u8 | 0x40 | ECDSA P-256 signature, r || s (64 bytes, IEEE P1363)
// The signed range is everything before the 0x40 byte (the OTA file and ForceReplace), hashed with SHA-256.
// The OTA header's total image size says where the OTA file ends, so a trailer is exactly these 66 bytes
// there: other bytes after the OTA file are a vendor's untidiness, not a signature.
import { createPrivateKey, createPublicKey, KeyObject, sign, verify } from 'node:crypto';
import * as fs from 'fs';
import { OtaHeader } from '../../firmware/core/image-header';
import { UsageError } from '../link/port-option';

/** ForceReplace, the marker and the signature. */
export const TRAILER_LENGTH = 66;
const SIGNATURE_MARKER = 0x40;
/** P-256 by its OpenSSL name, as node:crypto reports it. */
const P256 = 'prime256v1';
const ECDSA = { dsaEncoding: 'ieee-p1363' } as const;

export interface Trailer {
  forceReplace: number;
  /** What the signature covers: the OTA file and the ForceReplace byte. */
  signed: Uint8Array;
  signature: Uint8Array;
}

/** The GBCS trailer after `file`'s OTA file, or null when there is none. */
export function gbcsTrailer(file: Uint8Array, h: OtaHeader): Trailer | null {
  const end = h.start + h.totalImageSize;
  if (file.length !== end + TRAILER_LENGTH || file[end + 1] !== SIGNATURE_MARKER) return null;
  return { forceReplace: file[end], signed: file.subarray(h.start, end + 1), signature: file.subarray(end + 2) };
}

/** absent: no trailer; unverified: a trailer, no key to check it with; valid / invalid: checked with a key. */
export type SignatureState = 'absent' | 'unverified' | 'valid' | 'invalid';

export function signatureState(file: Uint8Array, h: OtaHeader, pub?: KeyObject): SignatureState {
  const t = gbcsTrailer(file, h);
  if (!t) return 'absent';
  if (!pub) return 'unverified';
  return verify('sha256', t.signed, { key: pub, ...ECDSA }, t.signature) ? 'valid' : 'invalid';
}

/** `file`'s OTA file (any prefix before the magic dropped) followed by a trailer signed with `key`; an Error
 *  when bytes follow the OTA file (a signature already, or data that would be signed unseen). */
export function signImage(file: Uint8Array, h: OtaHeader, key: KeyObject, forceReplace: boolean): Uint8Array {
  const size = h.totalImageSize;
  const after = file.length - h.start - size;
  if (after > 0) {
    const what = gbcsTrailer(file, h) ? 'a GBCS signature already' : `${after} bytes after the OTA file's declared size`;
    throw new Error(`the file holds ${what}: sign the OTA file alone`);
  }
  const out = new Uint8Array(size + TRAILER_LENGTH);
  out.set(file.subarray(h.start, h.start + size));
  out[size] = forceReplace ? 1 : 0;
  out[size + 1] = SIGNATURE_MARKER;
  out.set(sign('sha256', out.subarray(0, size + 1), { key, ...ECDSA }), size + 2);
  return out;
}

/**
 * A P-256 key from a PEM file: `private` to sign with; `public` to check with (a private key's file serves too).
 * A key that cannot be read, or is no P-256 key, is a usage error, as an unreadable image file is.
 */
export function readKey(file: string, kind: 'private' | 'public'): KeyObject {
  let pem: Buffer;
  try {
    pem = fs.readFileSync(file);
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  let key: KeyObject;
  try {
    key = kind === 'private' ? createPrivateKey(pem) : createPublicKey(pem);
  } catch (e) {
    throw new UsageError(`${file} is not a PEM ${kind} key: ${(e as Error).message}`);
  }
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType !== 'ec' || curve !== P256) {
    throw new UsageError(`${file} is a ${key.asymmetricKeyType}${curve ? ` ${curve}` : ''} key; GBCS images are signed with ECDSA P-256 (${P256})`);
  }
  return key;
}
