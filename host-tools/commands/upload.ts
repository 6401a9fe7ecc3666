// `chub upload`: check an OTA file locally, then store it on the hub (resumable, pipelined).
import * as path from 'path';
import { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { bytesSource, OtaHeader, parseImageHeader } from '../../firmware/core/image-header';
import { readImageFile } from '../image/image-file';
import { imageReport } from '../image/image-report';
import { bytes, hex, printJson, rate, version } from '../format';
import { UsageError, withHub, withPort } from '../link/port-option';

/** Image names the hub accepts (firmware/core/image-catalog.ts). */
export const IMAGE_NAME = /^[A-Za-z0-9._-]{1,24}$/;

export interface ServableImage {
  header: OtaHeader;
  /** Exactly the OTA file: any prefix before the magic and bytes after totalImageSize removed. */
  bytes: Uint8Array;
  /** What was removed or looked odd, for the user. */
  notes: string[];
  /** SHA-256 of `bytes` (what the hub serves, what `distribute --sha256` names). */
  sha256: Uint8Array;
}

/** The part of `file` the hub can serve, or an Error saying why there is none: the verdict of `image inspect`
 *  (a UsageError when the file cannot be read). */
export function servableImage(file: string): ServableImage {
  const raw = readImageFile(file);
  const r = parseImageHeader(bytesSource(raw));
  const report = imageReport(r, raw);
  if (!r.ok || !report.servable) throw new Error(`${file} cannot be served: ${report.problems.join('; ')}`);
  const h = r.header;
  const notes: string[] = [];
  if (h.start > 0) notes.push(`stripped a ${h.start} byte prefix before the OTA magic`);
  const trailing = raw.length - h.start - h.totalImageSize;
  if (trailing > 0) notes.push(`stripped ${trailing} trailing bytes after the declared image size`);
  // Prefix and trailing bytes are handled above; the parser's other warnings are worth showing.
  for (const w of h.warnings) if (!/prefix before|trailing bytes/.test(w)) notes.push(w);
  return { header: { ...h, start: 0 }, bytes: raw.subarray(h.start, h.start + h.totalImageSize), notes, sha256: Buffer.from(report.sha256!, 'hex') };
}

export function register(program: Command): void {
  withPort(program.command('upload <file>'))
    .description('check an OTA image file and store it on the hub (resumes an interrupted upload)')
    .option('-n, --name <name>', 'name on the hub, 1-24 of A-Z a-z 0-9 . _ - (default: the file name)')
    .option('--json', 'print the result as JSON instead of a progress bar')
    .addHelpText('after', '\nExample:\n  $ chub upload fw-v2.ota --name fw-v2')
    .action(async (file: string, opts) => {
      const name: string = opts.name ?? path.basename(file);
      if (!IMAGE_NAME.test(name)) throw new UsageError(`image name "${name}" is not 1-24 of A-Z a-z 0-9 . _ - ; choose one with --name`);
      const img = servableImage(file);
      const h = img.header;
      if (!opts.json) {
        console.log(`${file}: manufacturer ${hex(h.manufacturerCode, 4)}, image type ${hex(h.imageType, 4)}, version ${version(h.fileVersion)}, ${bytes(img.bytes.length)}`);
        for (const n of img.notes) console.log(`  note: ${n}`);
      }
      await withHub(opts, async (hub) => {
        const bar = opts.json ? undefined : new SingleBar({ format: `${name} [{bar}] {percentage}% {value}/{total} B  {rate}`, stream: process.stdout });
        const t0 = Date.now();
        let from = -1; // the first progress report is where the upload resumed
        const result = await hub.upload(name, img.bytes, (done, total) => {
          if (!bar) return;
          if (from < 0) bar.start(total, (from = done), { rate: '' });
          bar.update(done, { rate: rate(((done - from) * 1000) / Math.max(1, Date.now() - t0)) });
        });
        bar?.stop();
        const bps = (result.sent * 1000) / Math.max(1, result.ms);
        if (opts.json) return printJson({ name, size: img.bytes.length, resumedFrom: result.resumedFrom, sent: result.sent, ms: result.ms, bytesPerSecond: Math.round(bps), notes: img.notes, image: result.image });
        const resumed = result.resumedFrom > 0 ? ` (resumed at ${result.resumedFrom})` : '';
        console.log(`stored ${name}: ${result.sent} B sent in ${(result.ms / 1000).toFixed(2)} s, ${rate(bps)}${resumed}`);
      });
    });
}
