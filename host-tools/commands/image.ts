// `chub image make`, `inspect`, `sign` and `verify`: build OTA upgrade files for tests and benches, check
// any OTA file before it is uploaded, and sign GBCS firmware images or check their signatures.
import { createHash } from 'crypto';
import { Command } from 'commander';
import { CodedError } from '../../firmware/core/bytes';
import { bytesSource, OtaHeader, parseImageHeader } from '../../firmware/core/image-header';
import { buildImage, HEADER_TEXT_LENGTH, ImageOptions } from '../image/image-builder';
import { readImageFile, writeImageFile } from '../image/image-file';
import { CHUB_MARK } from '../image/image-integrity';
import { imageReport, reportLines } from '../image/image-report';
import { readKey, signatureState, signImage, TRAILER_LENGTH } from '../image/image-signature';
import { DEFAULT_FILE_VERSION, DEFAULT_IMAGE_TYPE, DEFAULT_MANUFACTURER_CODE } from '../sim/defaults';
import { hex, printJson } from '../format';
import { UsageError } from '../link/port-option';

// A made image is one version newer than the simulated devices run and fits their hardware version.
const DEFAULT_VERSION = DEFAULT_FILE_VERSION + 1;
const DEFAULT_HW_MIN = 0x0001;
const DEFAULT_HW_MAX = 0x0010;
const DEFAULT_SIZE = '200k';

/** Hex (0x1234) or decimal. */
function parseNumber(option: string, s: string): number {
  if (/^0x[0-9a-f]+$/i.test(s)) return parseInt(s.slice(2), 16);
  if (/^[0-9]+$/.test(s)) return parseInt(s, 10);
  throw new UsageError(`${option}: not a number: "${s}" (write hex as 0x1234, or decimal)`);
}

const SIZE_UNITS: Record<string, number> = { k: 1024, m: 1024 * 1024 };

/** Bytes, with an optional k (KiB, 1024) or M (MiB) suffix. */
function parseSize(s: string): number {
  const m = /^([0-9]+)([kKmM])$/.exec(s);
  return m ? parseInt(m[1], 10) * SIZE_UNITS[m[2].toLowerCase()] : parseNumber('--size', s);
}

/** The builder's own checks (ranges, hardware range, size) are the usage rules. */
function build(o: ImageOptions): Uint8Array {
  try {
    return buildImage(o);
  } catch (e) {
    if ((e as CodedError).code === 'BAD_OPTION') throw new UsageError((e as Error).message);
    throw e;
  }
}

/** The header of the OTA file in `file`, or an Error naming `path` (a file that is read but holds none: exit 1). */
function otaHeader(path: string, file: Uint8Array): OtaHeader {
  const r = parseImageHeader(bytesSource(file));
  if (!r.ok) throw new Error(`${path} is not an OTA file: ${r.code}: ${r.message}`);
  return r.header;
}

/** Where the signature lies, for help and messages (image-signature.ts). */
const SIGNED_RANGE = 'OTA file | ForceReplace byte | 0x40 | 64-byte ECDSA P-256 signature (r||s) over SHA-256 of the OTA file and ForceReplace';

export function register(program: Command): void {
  const image = program
    .command('image')
    .description('make and inspect ZigBee OTA upgrade files')
    .addHelpText('after', '\nExamples:\n  $ chub image make -o fw-v2.ota\n  $ chub image inspect fw-v2.ota\n  $ chub image sign fw-v2.ota --key signer.pem -o fw-v2.signed');

  image
    .command('make')
    .description(
      'write a valid ZigBee OTA upgrade file: header, a pseudo-random payload (the same seed gives the same file) ' +
        `and an Image Integrity Code (tag 0x0003, AES-MMO) that image inspect, upload and the simulated devices check; ` +
        `the header string ends "${CHUB_MARK}" to say the code is there`,
    )
    .requiredOption('-o, --output <file>', 'where to write the file')
    .option('--manufacturer <code>', 'manufacturer code', hex(DEFAULT_MANUFACTURER_CODE, 4))
    .option('--image-type <type>', 'image type', hex(DEFAULT_IMAGE_TYPE, 4))
    .option('--version <version>', 'file version', hex(DEFAULT_VERSION, 8))
    .option('--hw-min <version>', 'lowest hardware version the image fits', hex(DEFAULT_HW_MIN, 4))
    .option('--hw-max <version>', 'highest hardware version the image fits', hex(DEFAULT_HW_MAX, 4))
    .option('--size <bytes>', 'total file size; k = KiB (1024), M = MiB', DEFAULT_SIZE)
    .option('--seed <n>', 'seed of the pseudo-random payload', '1')
    .option('--no-integrity-code', `a plain file, like many vendors': no Image Integrity Code and no "${CHUB_MARK}" mark`)
    .option('--header-string <text>', `header string: up to ${HEADER_TEXT_LENGTH} bytes, then " ${CHUB_MARK}" (32 with --no-integrity-code)`)
    .option('--json', 'print {file, size, manufacturerCode, imageType, fileVersion, sha256}')
    .addHelpText(
      'after',
      '\nNumbers are hex (0x1234) or decimal.\n\nExamples:\n  $ chub image make -o fw-v2.ota\n  $ chub image make -o big.ota --version 0x00000003 --size 300k --seed 7 --no-integrity-code',
    )
    .action((opts) => {
      const o: ImageOptions = {
        manufacturerCode: parseNumber('--manufacturer', opts.manufacturer),
        imageType: parseNumber('--image-type', opts.imageType),
        fileVersion: parseNumber('--version', opts.version),
        minHardwareVersion: parseNumber('--hw-min', opts.hwMin),
        maxHardwareVersion: parseNumber('--hw-max', opts.hwMax),
        size: parseSize(opts.size),
        seed: parseNumber('--seed', opts.seed),
        integrityCode: opts.integrityCode,
        headerString: opts.headerString,
      };
      const file = build(o);
      writeImageFile(opts.output, file);
      const sha256 = createHash('sha256').update(file).digest('hex');
      const { manufacturerCode, imageType, fileVersion } = o;
      if (opts.json) return printJson({ file: opts.output, size: file.length, manufacturerCode, imageType, fileVersion, sha256 });
      console.log(
        `wrote ${opts.output}: ${file.length} bytes, manufacturer ${hex(manufacturerCode, 4)}, image type ${hex(imageType, 4)}, ` +
          `version ${hex(fileVersion, 8)}, hardware ${hex(o.minHardwareVersion!, 4)}-${hex(o.maxHardwareVersion!, 4)}, sha256 ${sha256}`,
      );
    });

  image
    .command('inspect <file>')
    .description(
      'decode an OTA file: header fields, sub-elements, its Image Integrity Code, its GBCS signature (present or not; valid or not with --pub), ' +
        'the SHA-256 of the OTA file (what distribute --sha256 names) and warnings. ' +
        'Exit status 0 if the file can be served (chub upload takes exactly these), 1 if it cannot, 2 for a usage error (such as a file that cannot be read)',
    )
    .option('--pub <pem>', 'check the GBCS signature with this P-256 public key: the file is servable only if it is valid')
    .option('--json', 'print the report as JSON')
    .addHelpText('after', '\nExamples:\n  $ chub image inspect fw-v2.ota\n  $ chub image inspect vendor.zigbee --json\n  $ chub image inspect fw-v2.signed --pub signer-pub.pem')
    .action((path: string, opts) => {
      const file = readImageFile(path);
      const pub = opts.pub === undefined ? undefined : readKey(opts.pub, 'public');
      const report = imageReport(parseImageHeader(bytesSource(file)), file, pub);
      if (opts.json) printJson({ file: path, ...report });
      else {
        const [verdict, ...details] = reportLines(report);
        console.log([`${path}: ${verdict}`, ...details].join('\n'));
      }
      if (!report.servable) process.exitCode = 1;
    });

  registerSigning(image);
}

/** `chub image sign` and `chub image verify`. */
function registerSigning(image: Command): void {
  image
    .command('sign <file>')
    .description(`sign an OTA file as a GBCS firmware image: writes ${SIGNED_RANGE} (layout from GBCS as FACTS §1 gives it, not yet checked against the GBCS text; docs/images.md)`)
    .requiredOption('--key <pem>', 'the ECDSA P-256 private key to sign with (PEM)')
    .requiredOption('-o, --output <file>', 'where to write the signed image')
    .option('--force-replace', 'set the ForceReplace byte to 1 (default 0)')
    .option('--json', 'print {file, size, otaSize, forceReplace, sha256} (sha256: of the OTA file, what distribute --sha256 names)')
    .addHelpText('after', '\nExamples:\n  $ openssl ecparam -name prime256v1 -genkey -noout -out signer.pem\n  $ chub image sign fw-v2.ota --key signer.pem -o fw-v2.signed')
    .action((path: string, opts) => {
      const file = readImageFile(path);
      const key = readKey(opts.key, 'private');
      const parsed = parseImageHeader(bytesSource(file));
      const report = imageReport(parsed, file);
      if (!parsed.ok || !report.servable) throw new Error(`${path} cannot be served, so it is not signed: ${report.problems.join('; ')}`);
      const signed = signImage(file, parsed.header, key, !!opts.forceReplace);
      writeImageFile(opts.output, signed);
      const otaSize = signed.length - TRAILER_LENGTH;
      const facts = { file: opts.output, size: signed.length, otaSize, forceReplace: opts.forceReplace ? 1 : 0, sha256: report.sha256 };
      if (opts.json) return printJson(facts);
      console.log(`wrote ${opts.output}: ${signed.length} bytes, the ${otaSize}-byte OTA file, ForceReplace ${facts.forceReplace}, 0x40 and its ECDSA P-256 signature`);
    });

  image
    .command('verify <file>')
    .description(`check a GBCS firmware image's signature (${SIGNED_RANGE}). Exit status 0 if it is valid, 1 if it is not or there is none, 2 for a usage error`)
    .requiredOption('--pub <pem>', 'the ECDSA P-256 public key to check with (PEM; a private key file also serves)')
    .option('--json', 'print {file, signature: "valid" | "invalid" | "absent"}')
    .addHelpText('after', '\nExamples:\n  $ openssl ec -in signer.pem -pubout -out signer-pub.pem\n  $ chub image verify fw-v2.signed --pub signer-pub.pem')
    .action((path: string, opts) => {
      const file = readImageFile(path);
      const pub = readKey(opts.pub, 'public');
      const h = otaHeader(path, file);
      const state = signatureState(file, h, pub);
      if (opts.json) printJson({ file: path, signature: state });
      if (state === 'valid') {
        if (!opts.json) console.log(`${path}: signature valid (ECDSA P-256, key ${opts.pub})`);
        return;
      }
      const why =
        state === 'invalid'
          ? `signature INVALID with key ${opts.pub}: the image was changed after it was signed, or signed with another key`
          : `no GBCS signature: after its ${h.totalImageSize}-byte OTA file it does not end in ForceReplace, 0x40 and a 64-byte signature`;
      if (opts.json) process.exitCode = 1;
      else throw new Error(`${path}: ${why}`);
    });
}
