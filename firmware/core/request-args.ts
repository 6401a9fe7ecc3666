// Arguments of host-link requests (docs/host-link.md), checked at the boundary: a request whose argument
// is missing or of the wrong kind is refused with BAD_ARGS naming it.
import { codedError } from './bytes';
import { CborValue } from './cbor';
import { Message } from './host-link';

/** What a request argument must be: a number in the bundle, each wording spelled once (in arg). */
export const enum Arg { Str, Nat, Bytes, Strs, Nums }

/** A request argument of the expected kind, or a BAD_ARGS error naming it. */
export function arg(m: Message, key: string, kind: Arg): unknown {
  const v = m[key];
  let ok: boolean;
  if (kind === Arg.Str) ok = typeof v === 'string';
  else if (kind === Arg.Nat) ok = typeof v === 'number' && v >= 0 && Math.floor(v) === v;
  else if (kind === Arg.Bytes) ok = v instanceof Uint8Array;
  else {
    const numbers = kind === Arg.Nums;
    ok = Array.isArray(v) && (numbers || v.length > 0);
    for (let i = 0; ok && i < (v as CborValue[]).length; i++) ok = typeof (v as CborValue[])[i] === (numbers ? 'number' : 'string');
  }
  if (!ok) {
    const wording = ['a string', 'a non-negative integer', 'a byte string', 'a non-empty list of strings', 'a list of numbers'][kind];
    throw codedError('BAD_ARGS', '"' + key + '" must be ' + wording);
  }
  return v;
}
