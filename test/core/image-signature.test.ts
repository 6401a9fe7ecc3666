// GBCS image signatures (host-tools/image/image-signature.ts; docs/images.md): the trailer `chub image sign`
// writes, checked independently with node:crypto; signed, unsigned, tampered (any one bit) and wrong-key files
// through the library and through `chub image sign / verify / inspect`.
import { createHash, generateKeyPairSync, KeyObject, verify } from 'crypto';
import fc from 'fast-check';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { bytesSource, parseImageHeader } from '../../firmware/core/image-header';
import { imageReport } from '../../host-tools/image/image-report';
import { gbcsTrailer, readKey, signatureState, signImage, TRAILER_LENGTH } from '../../host-tools/image/image-signature';
import { chub as runChub } from '../helpers/chub-emulate';
import { flipBit, makeImage, withTrailing } from '../helpers/images';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chub-signature-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const p256 = () => generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signer = p256();
const other = p256();
const OTA = makeImage({ size: 1024, seed: 3 });

function header(file: Uint8Array) {
  const r = parseImageHeader(bytesSource(file));
  if (!r.ok) throw new Error(`${r.code}: ${r.message}`);
  return r.header;
}

const sign = (file: Uint8Array, key: KeyObject = signer.privateKey, force = false) => signImage(file, header(file), key, force);
const SIGNED = sign(OTA);

/** What `chub image verify` concludes: the signature's state, or that the header no longer parses. */
function verdict(file: Uint8Array, pub: KeyObject): string {
  const r = parseImageHeader(bytesSource(file));
  return r.ok ? signatureState(file, r.header, pub) : `not an OTA file (${r.code})`;
}

describe('the trailer chub image sign writes (FACTS §1 layout)', () => {
  test('the OTA file, ForceReplace, 0x40, then r||s over SHA-256 of the OTA file and ForceReplace', () => {
    for (const force of [false, true]) {
      const file = sign(OTA, signer.privateKey, force);
      expect(file.length).toBe(OTA.length + TRAILER_LENGTH);
      expect(Buffer.from(file.subarray(0, OTA.length)).equals(OTA)).toBe(true);
      expect([file[OTA.length], file[OTA.length + 1]]).toEqual([force ? 1 : 0, 0x40]);
      // Checked without the module: node:crypto on the range docs/images.md names.
      const signed = file.subarray(0, OTA.length + 1);
      expect(verify('sha256', signed, { key: signer.publicKey, dsaEncoding: 'ieee-p1363' }, file.subarray(OTA.length + 2))).toBe(true);
    }
  });

  test('a prefix before the magic is left out of the signed file', () => {
    const prefixed = new Uint8Array(Buffer.concat([Buffer.alloc(9, 0xa5), OTA]));
    expect(Buffer.from(sign(prefixed)).subarray(0, OTA.length).equals(OTA)).toBe(true);
  });

  test('a file with bytes after its OTA file is not signed: a signature already, or data that would be signed unseen', () => {
    expect(() => sign(SIGNED)).toThrow(/a GBCS signature already/);
    expect(() => sign(withTrailing(OTA, 5))).toThrow(/5 bytes after the OTA file/);
  });
});

describe('signature states', () => {
  test('signed: valid with its key, unverified without one; unsigned: absent; another key: invalid', () => {
    expect(signatureState(SIGNED, header(SIGNED), signer.publicKey)).toBe('valid');
    expect(signatureState(SIGNED, header(SIGNED))).toBe('unverified');
    expect(signatureState(OTA, header(OTA), signer.publicKey)).toBe('absent');
    expect(signatureState(SIGNED, header(SIGNED), other.publicKey)).toBe('invalid');
    expect(signatureState(sign(OTA, other.privateKey), header(SIGNED), signer.publicKey)).toBe('invalid');
  });

  test('a trailer is exactly 66 bytes after the OTA file with 0x40 second: other trailing bytes are no signature', () => {
    const marked = (n: number) => {
      const f = withTrailing(OTA, n);
      f[OTA.length + 1] = 0x40;
      return f;
    };
    expect(gbcsTrailer(marked(66), header(OTA))).not.toBeNull();
    for (const n of [65, 67, 132]) expect(gbcsTrailer(marked(n), header(OTA))).toBeNull();
    expect(gbcsTrailer(withTrailing(OTA, 66), header(OTA))).toBeNull(); // 0x5A, not 0x40
  });

  test('flipping any one bit of a small signed file, every bit in turn, makes it fail verification', () => {
    const small = sign(makeImage({ size: 200, seed: 4 }));
    const valid: number[] = [];
    for (let bit = 0; bit < small.length * 8; bit++) if (verdict(flipBit(small, bit), signer.publicKey) === 'valid') valid.push(bit);
    expect(valid).toEqual([]);
  });

  test('flipping any one bit of a signed file makes it fail verification (property)', () => {
    const bits = SIGNED.length * 8;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: bits - 1 }), (bit) => {
        expect(verdict(flipBit(SIGNED, bit), signer.publicKey)).not.toBe('valid');
      }),
      { numRuns: 1000 },
    );
  });
});

describe('the verdict image inspect and upload share (image-report.ts)', () => {
  const report = (file: Uint8Array, pub?: KeyObject) => imageReport(parseImageHeader(bytesSource(file)), file, pub);
  const otaSha = createHash('sha256').update(OTA).digest('hex');

  test('a signed file: servable, its signature reported, the SHA-256 that of its OTA file, no trailing-bytes warning', () => {
    for (const [pub, signature] of [[undefined, 'unverified'], [signer.publicKey, 'valid']] as const) {
      const r = report(SIGNED, pub);
      expect(r).toMatchObject({ servable: true, problems: [], signature, forceReplace: 0, sha256: otaSha });
      expect(r.warnings.join()).not.toMatch(/trailing/);
    }
  });

  test('with a key: an invalid signature, or none, is not servable', () => {
    expect(report(SIGNED, other.publicKey)).toMatchObject({ servable: false, signature: 'invalid', problems: [expect.stringMatching(/does not verify/)] });
    expect(report(OTA, signer.publicKey)).toMatchObject({ servable: false, signature: 'absent', problems: [expect.stringMatching(/no GBCS signature/)] });
    expect(report(OTA)).toMatchObject({ servable: true, signature: 'absent', sha256: otaSha });
  });
});

describe('keys', () => {
  const write = (name: string, pem: string | Buffer) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, pem);
    return f;
  };

  test('PKCS#8 and SEC1 (openssl ecparam) private keys, SPKI public keys; a private key file checks too', () => {
    const pkcs8 = write('k8.pem', signer.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const sec1 = write('k1.pem', signer.privateKey.export({ type: 'sec1', format: 'pem' }));
    const spki = write('pub.pem', signer.publicKey.export({ type: 'spki', format: 'pem' }));
    for (const k of [pkcs8, sec1]) expect(signatureState(sign(OTA, readKey(k, 'private')), header(OTA), readKey(spki, 'public'))).toBe('valid');
    expect(signatureState(SIGNED, header(SIGNED), readKey(pkcs8, 'public'))).toBe('valid');
  });

  test('a missing file, a non-key or a key on another curve is a usage error naming the file', () => {
    const p384 = write('p384.pem', generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const junk = write('junk.pem', 'not a key');
    expect(() => readKey(path.join(dir, 'none.pem'), 'private')).toThrow(/cannot read .*none\.pem: no such file/);
    expect(() => readKey(junk, 'public')).toThrow(/junk\.pem is not a PEM public key/);
    expect(() => readKey(p384, 'private')).toThrow(/p384\.pem is a ec secp384r1 key; GBCS images are signed with ECDSA P-256/);
  });
});

describe('through chub image sign / verify / inspect', () => {
  const chub = (args: string[]) => runChub(args, undefined, 60000);
  const file = (name: string, b?: Uint8Array | string) => {
    const f = path.join(dir, name);
    if (b !== undefined) fs.writeFileSync(f, b);
    return f;
  };
  const key = file('signer.pem', signer.privateKey.export({ type: 'sec1', format: 'pem' }) as string);
  const pub = file('signer-pub.pem', signer.publicKey.export({ type: 'spki', format: 'pem' }) as string);
  const otherPub = file('other-pub.pem', other.publicKey.export({ type: 'spki', format: 'pem' }) as string);
  const ota = file('fw.ota', OTA);
  const signed = file('fw.signed');
  beforeAll(async () => {
    const r = await chub(['image', 'sign', ota, '--key', key, '-o', signed, '--json']);
    expect(r).toEqual(expect.objectContaining({ code: 0 })); // on failure, shows all chub said
    expect(JSON.parse(r.stdout)).toEqual({ file: signed, size: OTA.length + 66, otaSize: OTA.length, forceReplace: 0, sha256: createHash('sha256').update(OTA).digest('hex') });
  });

  // Each case is a fresh process (~0.5 s of start-up): run them side by side.
  test.concurrent.each<[string, number, RegExp, () => string[]]>([
    ['verify, signed, its key', 0, /signature valid/, () => ['image', 'verify', signed, '--pub', pub]],
    ['verify, signed, another key', 1, /signature INVALID with key .*other-pub\.pem/, () => ['image', 'verify', signed, '--pub', otherPub]],
    ['verify, unsigned', 1, /no GBCS signature/, () => ['image', 'verify', ota, '--pub', pub]],
    ['verify, tampered (one bit of the payload)', 1, /signature INVALID/, () => ['image', 'verify', file('tampered.signed', flipBit(SIGNED, 8 * 500 + 3)), '--pub', pub]],
    ['verify, a key file that is not there', 2, /no-such\.pem: no such file/, () => ['image', 'verify', signed, '--pub', file('no-such.pem')]],
    ['sign, a file already signed', 1, /a GBCS signature already/, () => ['image', 'sign', signed, '--key', key, '-o', file('twice.signed')]],
  ])('%s: exit %i', async (_name, code, said, args) => {
    const r = await chub(args());
    expect(r.code).toBe(code);
    expect(code === 0 ? r.stdout : r.stderr).toMatch(said);
  });

  test.concurrent.each<[string, number, string, () => string[]]>([
    ['signed, no key', 0, 'unverified', () => ['image', 'inspect', signed, '--json']],
    ['signed, its key', 0, 'valid', () => ['image', 'inspect', signed, '--pub', pub, '--json']],
    ['signed, another key', 1, 'invalid', () => ['image', 'inspect', signed, '--pub', otherPub, '--json']],
    ['unsigned, a key', 1, 'absent', () => ['image', 'inspect', ota, '--pub', pub, '--json']],
  ])('inspect --json, %s: exit %i, signature "%s"', async (_name, code, signature, args) => {
    const r = await chub(args());
    expect(r.code).toBe(code);
    expect(JSON.parse(r.stdout)).toMatchObject({ signature, servable: code === 0 });
  });

  test('inspect shows the signature and the SHA-256 of the OTA file', async () => {
    const r = await chub(['image', 'inspect', signed]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('GBCS signature: present, not checked (give --pub), ForceReplace 0');
    expect(r.stdout).toContain(`sha256 of the OTA file: ${createHash('sha256').update(OTA).digest('hex')}`);
  });
});
