// `make firmware BOARD=<name>`: the hub firmware as one minified, pretokenised ES5 file for Espruino.
//   1. boards/<name>.json is validated (host-tools/boards/board-file.ts)
//   2. tsc -p firmware/tsconfig.json → ES5 modules (esbuild cannot lower TypeScript to ES5, FACTS §7)
//   3. esbuild bundles + minifies the ES5 entry (--target=es5 --format=iife), baking the board config in
//   4. the Espruino gate (espruino-gate.ts): ES5 parse + no builtin Espruino lacks
//   5. pretokenised (pretokenise.ts) as Espruino's tools do when they save code to Storage
// Exits non-zero with a message naming the problem on any failure.
import * as esbuild from 'esbuild';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as ts from 'typescript';
import { BoardFile, BoardFileError, loadBoard } from '../boards/board-file';
import { hubConfigFor } from '../boards/hub-config';
import { stateRoomBytes, STORAGE_FILE_HEADER } from '../boards/state-room';
import { checkEspruinoSource, formatProblems } from './espruino-gate';
import { inlineConstants } from './inline-constants';
import { pretokenise } from './pretokenise';
import { shortenableMembers } from './member-names';
import { aliasPrototypes, reserveEspruinoGlobals, unwrapBundleIife, unwrapClassIifes } from './unwrap-classes';

export const REPO_ROOT = path.resolve(__dirname, '../..');
const FIRMWARE_TSCONFIG = path.join(REPO_ROOT, 'firmware/tsconfig.json');

export interface BuildOptions {
  /** Board name (boards/<name>.json). */
  board: string;
  /** Entry module under firmware/, without extension (default 'espruino/main'). */
  entry?: string;
  /** Where the bundle (pretokenised: what Storage holds) goes (default dist/firmware/<board>.js, or
   *  <board>-<entry base>.js for other entries). */
  outFile?: string;
  /** Where tsc writes its ES5 output (default: a private temp dir, removed after the build). */
  es5Dir?: string;
  /** Print progress lines (default true). */
  log?: (line: string) => void;
  /** An ES5 compile to reuse (compileFirmwareEs5's result) instead of running tsc again: several boards or
   *  entries built from one source (make bench's footprint). */
  es5?: { outDir: string; program: ts.Program };
  /** Keep esbuild's metafile of the bundle step in the result (per-module bytesInOutput, for make bench). */
  metafile?: boolean;
}

export interface BuildResult {
  board: BoardFile;
  outFile: string;
  /** Size of outFile: the pretokenised bundle, what the board's Storage holds. */
  bytes: number;
  /** The minified ES5 before pretokenising (what the gate checked). */
  source: string;
  sourceBytes: number;
  /** Whether the bundle fits the board's Storage as .bootcde with room for the hub's state (fitsStorage). */
  fitsStorage: boolean;
  /** esbuild's metafile of the bundle step, before minifying and pretokenising (with `metafile`). */
  metafile?: esbuild.Metafile;
  /** Each shortened member's name in the bundle, by its name in the source (esbuild's mangle cache). */
  members: Record<string, string>;
}

/** Storage kept free beyond the files a running hub already has (one 4 KB flash page): room for a state
 *  file's new copy while a bundle is written beside the running one. */
export const STATE_RESERVE_BYTES = 4096;

/** Whether a bundle of `bytes` leaves the hub the room its state files need in the board's Storage (their
 *  sizes follow from the board's limits: state-room.ts). */
export function fitsStorage(board: BoardFile, bytes: number): boolean {
  return bytes + STORAGE_FILE_HEADER + stateRoomBytes(board) <= board.storageBytes;
}

/** The largest bundle a board is built to take over its host link (today's are under 30 KB, the compact
 *  core's ~16 KB): a board takes it when its Storage holds two such copies (the running one and the new
 *  one, firmware/espruino/firmware-update.ts) and its state files' room. */
const LINK_FLASH_BUNDLE_BYTES = 32768;

/** Whether `board`'s bundle carries firmware updates over the host link (fw.begin/data/end); the others are
 *  flashed with the espruino CLI alone. */
export function takesFirmwareOverLink(board: BoardFile): boolean {
  return board.storageBytes >= 2 * (LINK_FLASH_BUNDLE_BYTES + STORAGE_FILE_HEADER) + stateRoomBytes(board);
}

export class BuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BuildError';
  }
}

/** tsc with firmware/tsconfig.json (ES5); type errors fail the build. */
export function compileFirmwareEs5(es5Dir?: string): { outDir: string; program: ts.Program } {
  const host: ts.ParseConfigFileHost = {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new BuildError(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  };
  const parsed = ts.getParsedCommandLineOfConfigFile(FIRMWARE_TSCONFIG, es5Dir ? { outDir: es5Dir } : {}, host);
  if (!parsed) throw new BuildError(`cannot read ${FIRMWARE_TSCONFIG}`);
  const outDir = parsed.options.outDir as string;
  const program = ts.createProgram({ rootNames: parsed.fileNames, options: parsed.options, projectReferences: parsed.projectReferences });
  const emit = program.emit();
  const diags = ts.sortAndDeduplicateDiagnostics([...ts.getPreEmitDiagnostics(program), ...emit.diagnostics, ...parsed.errors]);
  const errors = diags.filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (errors.length > 0) {
    const text = ts.formatDiagnostics(errors, {
      getCanonicalFileName: (f) => f,
      getCurrentDirectory: () => REPO_ROOT,
      getNewLine: () => '\n',
    });
    throw new BuildError(`tsc -p firmware/tsconfig.json failed (ES5 target):\n${text}`);
  }
  return { outDir, program };
}

function packageVersion(): string {
  try {
    return JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')).version || '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** Board config as the firmware sees it (firmware/espruino/board-config.ts BoardConfig): only what it reads,
 *  as the string is Storage bytes on boards with a few hundred to spare. */
function firmwareBoardConfig(b: BoardFile, fw: string): object {
  const c: Record<string, unknown> = { name: b.name, host: b.host, radio: b.radio };
  if (b.tickMs !== undefined) c.tickMs = b.tickMs;
  if (b.consoleIdleS !== undefined) c.consoleIdleS = b.consoleIdleS;
  c.hubConfig = hubConfigFor(b, fw);
  return c;
}

export async function buildFirmware(opts: BuildOptions): Promise<BuildResult> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const board = loadBoard(opts.board);
  const entry = opts.entry ?? 'espruino/main';
  const outFile = opts.outFile ?? path.join(REPO_ROOT, 'dist/firmware', entry === 'espruino/main' ? `${board.name}.js` : `${board.name}-${path.basename(entry)}.js`);

  const fw = packageVersion();
  // A private ES5 directory unless the caller names one: builds may run side by side (tests, chub emulate).
  const privateEs5 = opts.es5 === undefined && opts.es5Dir === undefined ? fs.mkdtempSync(path.join(os.tmpdir(), 'chub-es5-')) : undefined;
  try {
    return await bundle(opts, board, entry, outFile, fw, opts.es5 ?? compileFirmwareEs5(opts.es5Dir ?? privateEs5), log);
  } finally {
    if (privateEs5) fs.rmSync(privateEs5, { recursive: true, force: true });
  }
}

/** TypeScript's ES5 classes are IIFEs marked `/** @class *\/`; marked pure instead, a class nothing
 *  uses (a feature the board's build leaves out) is dropped from the bundle with its methods. */
const pureClasses: esbuild.Plugin = {
  name: 'pure-classes',
  setup(build) {
    build.onLoad({ filter: /\.js$/ }, (args) => ({ contents: fs.readFileSync(args.path, 'utf8').split('/** @class */').join('/* @__PURE__ */'), loader: 'js' }));
  },
};

async function bundle(opts: BuildOptions, board: BoardFile, entry: string, outFile: string, fw: string, es5: { outDir: string; program: ts.Program }, log: (l: string) => void): Promise<BuildResult> {
  const es5Dir = es5.outDir;
  const short = shortenableMembers(es5.program);
  const entryJs = path.join(es5Dir, `${entry}.js`);
  if (!fs.existsSync(entryJs)) throw new BuildError(`tsc did not produce ${entryJs} (is firmware/${entry}.ts in firmware/tsconfig.json "include"?)`);

  let result: esbuild.BuildResult;
  try {
    result = await esbuild.build({
      entryPoints: [entryJs],
      bundle: true,
      minify: false, // minified below, after unwrapClassIifes
      target: 'es5',
      format: 'iife',
      platform: 'neutral',
      charset: 'utf8',
      legalComments: 'none',
      write: false,
      logLevel: 'silent',
      metafile: opts.metafile === true,
      mangleProps: new RegExp(`^(?:${short.join('|')})$`),
      mangleCache: {},
      plugins: [pureClasses],
      define: {
        __CHUB_BOARD__: JSON.stringify(JSON.stringify(firmwareBoardConfig(board, fw))),
        __CHUB_FW__: JSON.stringify(fw),
        __CHUB_SHARED_CONSOLE__: String(board.console !== undefined && board.console === board.host.serial),
        __CHUB_STORED__: String(board.imageMode === 'stored'),
        __CHUB_FW_UPDATE__: String(takesFirmwareOverLink(board)),
        __CHUB_STATE_RESERVE__: String(STATE_RESERVE_BYTES),
      },
    });
  } catch (e) {
    const f = e as esbuild.BuildFailure;
    const msgs = f.errors ? f.errors.map((m) => `${m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ` : ''}${m.text}`).join('\n') : String(e);
    throw new BuildError(`esbuild (bundle, --target=es5) failed:\n${msgs}`);
  }
  // Lift TypeScript's class IIFEs (one JsVar per method on Espruino), then minify.
  const lifted = unwrapClassIifes(result.outputFiles![0].text);
  let source: string;
  try {
    source = (await esbuild.transform(reserveEspruinoGlobals(lifted.code), { minify: true, target: 'es5', charset: 'utf8', legalComments: 'none', logLevel: 'silent' })).code;
  } catch (e) {
    throw new BuildError(`esbuild (minify, --target=es5) failed: ${(e as Error).message}`);
  }
  // Then run it at global scope rather than inside the IIFE (one JsVar per function on Espruino).
  try {
    source = unwrapBundleIife(source).code;
  } catch (e) {
    throw new BuildError(`cannot lift the bundle out of its IIFE: ${(e as Error).message}`);
  }
  // Named constants become literals, and prototypes one alias: fewer globals and bytes on the board.
  let inlined: string[];
  try {
    const c = inlineConstants(source);
    inlined = c.inlined;
    source = aliasPrototypes(c.code).code;
  } catch (e) {
    throw new BuildError(`cannot inline the bundle's constants or alias its prototypes: ${(e as Error).message}`);
  }

  const problems = checkEspruinoSource(source);
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  if (problems.length > 0) {
    const rejected = outFile.replace(/\.js$/, '') + '.rejected.js';
    fs.writeFileSync(rejected, source);
    if (fs.existsSync(outFile)) fs.unlinkSync(outFile); // never leave a stale bundle that looks good
    const n = problems.length;
    throw new BuildError(
      `the bundle for ${board.name} would not run on Espruino 2v29 (${n} problem${n === 1 ? '' : 's'}; rejected bundle kept as ${path.relative(REPO_ROOT, rejected)}):\n` +
        formatProblems(path.relative(REPO_ROOT, rejected), problems),
    );
  }
  let boot: Buffer;
  try {
    boot = pretokenise(source);
  } catch (e) {
    throw new BuildError(`cannot pretokenise the bundle for ${board.name}: ${(e as Error).message}`);
  }
  // Written whole or not at all: a reader (another build's caller, chub flash) never sees half a bundle.
  const tmp = `${outFile}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, boot);
  fs.renameSync(tmp, outFile);
  const bytes = boot.length;
  const sourceBytes = Buffer.byteLength(source);
  const fits = fitsStorage(board, bytes);
  if (!fits) log(`firmware: WARNING: ${bytes} bytes and ${stateRoomBytes(board)} for the hub's state files do not fit ${board.name}'s ${board.storageBytes} bytes of Storage`);
  log(
    `firmware: ${path.relative(process.cwd(), outFile) || outFile}: ${bytes} bytes pretokenised (${sourceBytes} bytes of minified ES5, ${lifted.unwrapped} classes lifted, ${inlined.length} constants inlined; ` +
      `board ${board.name}: ${board.jsvars} JsVars, ${board.storageBytes} bytes Storage, ${board.imageMode} images)`,
  );
  const members = Object.fromEntries(Object.entries(result.mangleCache ?? {}).filter((e): e is [string, string] => typeof e[1] === 'string'));
  return { board, outFile, bytes, source, sourceBytes, fitsStorage: fits, members, ...(result.metafile ? { metafile: result.metafile } : {}) };
}

async function cli(argv: string[]): Promise<number> {
  const name = argv[0];
  if (!name || argv.length > 1 || name.startsWith('-')) {
    console.error('usage: build-firmware.ts <board>   (a name from boards/, e.g. linux)');
    return 2;
  }
  try {
    await buildFirmware({ board: name });
    return 0;
  } catch (e) {
    if (e instanceof BuildError || e instanceof BoardFileError) console.error(`firmware build failed: ${e.message}`);
    else console.error('firmware build failed:', e);
    return 1;
  }
}

if (require.main === module) {
  cli(process.argv.slice(2)).then((code) => process.exit(code));
}
