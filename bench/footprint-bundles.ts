// make bench's footprint, the code side: every board's bundle (pretokenised bytes, what Storage holds, and
// the Storage left), each source module's bytes in it (esbuild's metafile of the bundle step), and each
// module's resident JsVars on the interpreter, measured.
//
// Resident JsVars per module are measured, not estimated: bundles are built through the board build
// (host-tools/build/build-firmware.ts, the same passes as a board's bundle) from generated entries that
// import modules without starting anything. Entry k imports modules 1..k (in the bundle's dependency
// order) and holds what the real bundle's modules use of each (the names they import) in one global
// array; booted from Storage on the interpreter, the array is deleted at the REPL and process.memory()
// read. Module k's JsVars are entry k's minus entry k-1's: everything its imports need is already held,
// so the difference is the module's own functions, prototypes and tables. The firmware entry
// (espruino/main) cannot be loaded without starting the hub; what it and the started hub hold is
// codeResident minus the modules' sum.
import * as acorn from 'acorn';
import type * as esbuild from 'esbuild';
import * as fs from 'fs';
import * as path from 'path';
import type * as ts from 'typescript';
import { BOARDS_DIR, BoardFile } from '../host-tools/boards/board-file';
import { buildFirmware, BuildResult, fitsStorage } from '../host-tools/build/build-firmware';
import { bootBoardRepl, EspruinoTools, FAILURE_PATTERN, makeBoardDir } from '../test/helpers/espruino';
import { replUsage } from './footprint-harness';

type Es5 = { outDir: string; program: ts.Program };
type AnyNode = acorn.Node & Record<string, any>;

export interface ModuleBytes {
  /** The source module, e.g. firmware/core/hub.ts. */
  module: string;
  /** esbuild metafile bytesInOutput: the module's bytes in the bundle step's output (ES5, before minifying). */
  bundleStepBytes: number;
  /** Its share of the pretokenised bundle, pro rata to bundleStepBytes: an estimate. */
  pretokenisedBytesEst: number;
}

export interface BoardBundle {
  board: BoardFile;
  build: BuildResult;
  bundle: Buffer;
  modules: ModuleBytes[] | { error: string };
}

/** Every board file's name, sorted. */
export function boardNames(): string[] {
  return fs
    .readdirSync(BOARDS_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -5))
    .sort();
}

/** Largest bundle that still fits the board's Storage with the hub's state room (fitsStorage's own rule). */
export function largestFitting(board: BoardFile): number {
  let lo = 0;
  let hi = board.storageBytes;
  if (!fitsStorage(board, lo)) return -1;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fitsStorage(board, mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** firmware/<path>.ts for a metafile input key (a path relative to the cwd, inside the ES5 directory). */
function sourceModule(es5: Es5, key: string): string {
  const rel = path.relative(es5.outDir, path.resolve(key)).split(path.sep).join('/');
  return rel.startsWith('..') ? key : `firmware/${rel.replace(/\.js$/, '.ts')}`;
}

/** The bundle's one output's inputs, in output (dependency) order, as absolute paths with their bytes. */
function outputInputs(meta: esbuild.Metafile): { abs: string; bytes: number }[] {
  const outs = Object.values(meta.outputs);
  if (outs.length !== 1) throw new Error(`esbuild's metafile has ${outs.length} outputs, not 1`);
  return Object.entries(outs[0].inputs).map(([k, v]) => ({ abs: path.resolve(k), bytes: v.bytesInOutput }));
}

export function moduleBytes(es5: Es5, build: BuildResult): ModuleBytes[] {
  if (!build.metafile) throw new Error('the build gave no metafile (host-tools/build/build-firmware.ts BuildOptions.metafile)');
  const ins = outputInputs(build.metafile);
  const total = ins.reduce((n, i) => n + i.bytes, 0);
  return ins.map((i) => ({
    module: sourceModule(es5, path.relative(process.cwd(), i.abs)),
    bundleStepBytes: i.bytes,
    pretokenisedBytesEst: total ? Math.round((build.bytes * i.bytes) / total) : 0,
  }));
}

/** Builds every board from one ES5 compile, into `outDir`. */
export async function buildBoards(es5: Es5, outDir: string): Promise<{ [name: string]: BoardBundle | { error: string } }> {
  const out: { [name: string]: BoardBundle | { error: string } } = {};
  for (const name of boardNames()) {
    try {
      const build = await buildFirmware({ board: name, es5, metafile: true, outFile: path.join(outDir, `${name}.js`), log: () => undefined });
      let modules: ModuleBytes[] | { error: string };
      try {
        modules = moduleBytes(es5, build);
      } catch (e) {
        modules = { error: `${name}: per-module bytes: ${(e as Error).message}` };
      }
      out[name] = { board: build.board, build, bundle: fs.readFileSync(build.outFile), modules };
    } catch (e) {
      out[name] = { error: `${name}: building the bundle: ${(e as Error).message}` };
    }
  }
  return out;
}

// --- resident JsVars per module ---

function parseModule(file: string): AnyNode {
  return acorn.parse(fs.readFileSync(file, 'utf8'), { ecmaVersion: 2020, sourceType: 'module' }) as AnyNode;
}

function resolveImport(from: string, spec: string): string {
  const p = path.resolve(path.dirname(from), spec);
  if (fs.existsSync(p) && fs.statSync(p).isFile()) return p;
  if (fs.existsSync(p + '.js')) return p + '.js';
  return path.join(p, 'index.js');
}

/** The names a module exports (ES5 output of tsc: export function/var/class, export {..}). */
function exportsOf(file: string): string[] {
  const names: string[] = [];
  for (const st of parseModule(file).body as AnyNode[]) {
    if (st.type === 'ExportNamedDeclaration') {
      const d = st.declaration;
      if (d && (d.type === 'FunctionDeclaration' || d.type === 'ClassDeclaration')) names.push(d.id.name);
      else if (d && d.type === 'VariableDeclaration') for (const v of d.declarations) if (v.id.type === 'Identifier') names.push(v.id.name);
      for (const s of st.specifiers ?? []) names.push(s.exported.name ?? s.exported.value);
    } else if (st.type === 'ExportDefaultDeclaration') names.push('default');
    else if (st.type === 'ExportAllDeclaration') names.push(...exportsOf(resolveImport(file, st.source.value)));
  }
  return names;
}

/** For each module, the names the bundle's other modules import from it ('*' expanded). */
function usedNames(files: string[]): Map<string, Set<string>> {
  const used = new Map<string, Set<string>>();
  const add = (target: string, names: string[]) => {
    const s = used.get(target) ?? new Set<string>();
    for (const n of names) s.add(n);
    used.set(target, s);
  };
  for (const file of files) {
    for (const st of parseModule(file).body as AnyNode[]) {
      if (!(st.type === 'ImportDeclaration' || ((st.type === 'ExportNamedDeclaration' || st.type === 'ExportAllDeclaration') && st.source))) continue;
      const target = resolveImport(file, st.source.value);
      if (st.type === 'ExportAllDeclaration') {
        add(target, exportsOf(target));
        continue;
      }
      for (const s of st.specifiers ?? []) {
        if (s.type === 'ImportNamespaceSpecifier') add(target, exportsOf(target));
        else if (s.type === 'ImportDefaultSpecifier') add(target, ['default']);
        else if (s.type === 'ImportSpecifier') add(target, [s.imported.name ?? s.imported.value]);
        else if (s.type === 'ExportSpecifier') add(target, [s.local.name ?? s.local.value]);
      }
    }
  }
  return used;
}

/** Functions and parameters in a module's ES5 output: FACTS §5's cost (4 per function, +1 per parameter), for modules that cannot be measured. */
function functionCountEstimate(file: string): { functions: number; parameters: number; jsVarsEst: number } {
  let functions = 0;
  let parameters = 0;
  const walk = (n: AnyNode) => {
    if (n.type === 'FunctionDeclaration' || n.type === 'FunctionExpression') {
      functions++;
      parameters += n.params.length;
    }
    for (const k of Object.keys(n)) {
      const v = n[k];
      if (Array.isArray(v)) for (const c of v) c && typeof c.type === 'string' && walk(c);
      else if (v && typeof v === 'object' && typeof v.type === 'string') walk(v);
    }
  };
  walk(parseModule(file));
  return { functions, parameters, jsVarsEst: functions * 4 + parameters };
}

export interface ModuleResident {
  module: string;
  /** Its bundle-step bytes in the bundle it was measured as (the first board's, or the board that brought it). */
  measuredWithBytes: number;
  /** Measured: entry k's JsVars minus entry k-1's (see the top of this file). */
  residentJsVars: number | null;
  /** Names the bundle's modules import from it, all held by the entry. */
  namesHeld: number;
  /** Why it was not measured, when it was not. */
  note?: string;
  /** Only where it could not be measured: 4 JsVars per function + 1 per parameter (FACTS §5). */
  estimate?: { functions: number; parameters: number; jsVarsEst: number };
}

export interface ModuleResidents {
  interpreter: string;
  method: string;
  /** JsVars with entry 0 (an empty array held, then deleted) loaded: the interpreter's own plus the probe. */
  baseline: number;
  modules: ModuleResident[];
  /** The sum of the measured modules (entry N minus entry 0). */
  sumOfModules: number;
}

/**
 * Measures every module of `builds` (boards' builds with metafile; the first one's modules first, in its
 * bundle order, then any the others add) on `binary`, one boot per module. The entries are built for the
 * first board. `es5` is the compile the builds came from; entries are written into its directory (tsc
 * leaves them alone).
 */
export async function measureModuleResidents(
  tools: EspruinoTools,
  binary: string,
  interpreterLabel: string,
  es5: Es5,
  builds: BuildResult[],
  scratch: string,
  log: (l: string) => void,
): Promise<ModuleResidents> {
  const board = builds[0].board.name;
  const ins: string[] = [];
  const bytesOf = new Map<string, number>();
  for (const b of builds)
    for (const i of outputInputs(b.metafile!))
      if (!ins.includes(i.abs) && i.abs.startsWith(es5.outDir + path.sep)) {
        ins.push(i.abs);
        bytesOf.set(i.abs, i.bytes);
      }
  const entryAbs = path.join(es5.outDir, 'espruino/main.js');
  const mods = ins.filter((f) => f !== entryAbs);
  const used = usedNames(ins);
  const benchDir = path.join(es5.outDir, '__bench');
  fs.mkdirSync(benchDir, { recursive: true });

  const included: number[] = [];
  const entryText = (upto: number[]) => {
    const lines: string[] = [];
    const refs: string[] = [];
    for (const j of upto) {
      const rel = './' + path.relative(benchDir, mods[j]).split(path.sep).join('/');
      const names = [...(used.get(mods[j]) ?? [])].sort();
      if (names.length === 0) lines.push(`import ${JSON.stringify(rel)};`);
      else {
        lines.push(`import { ${names.map((n) => `${n} as m${j}_${n}`).join(', ')} } from ${JSON.stringify(rel)};`);
        refs.push(...names.map((n) => `m${j}_${n}`));
      }
    }
    lines.push(`global.__bench = [${refs.join(', ')}];`);
    return lines.join('\n') + '\n';
  };

  /** Builds entry `upto`, boots it, deletes the array and reads the JsVars in use. */
  const measure = async (k: number, upto: number[]): Promise<number> => {
    const name = `e${k}`;
    fs.writeFileSync(path.join(benchDir, `${name}.js`), entryText(upto));
    const b = await buildFirmware({ board, es5, entry: `__bench/${name}`, outFile: path.join(scratch, `${name}.js`), log: () => undefined });
    const dir = makeBoardDir(tools, { '.bootcde': fs.readFileSync(b.outFile) }, 'chub-bench-mod-');
    const repl = bootBoardRepl(tools, dir, { binary });
    try {
      repl.type('delete global.__bench');
      const usage = await replUsage(repl);
      const failed = FAILURE_PATTERN.exec(repl.output());
      if (failed) throw new Error(`the interpreter failed: ${repl.output().slice(failed.index, failed.index + 300)}`);
      return usage;
    } finally {
      await repl.kill();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };

  const baseline = await measure(0, []).catch((e) => {
    throw new Error(`${board}: per-module JsVars: the empty entry: ${(e as Error).message}`);
  });
  let last = baseline;
  const out: ModuleResident[] = [];
  for (let k = 0; k < mods.length; k++) {
    const module = sourceModule(es5, path.relative(process.cwd(), mods[k]));
    const namesHeld = (used.get(mods[k]) ?? new Set()).size;
    const measuredWithBytes = bytesOf.get(mods[k]) ?? 0;
    try {
      const u = await measure(k + 1, [...included, k]);
      out.push({ module, measuredWithBytes, residentJsVars: u - last, namesHeld });
      included.push(k);
      last = u;
    } catch (e) {
      // Left out of later entries too (a module that imports it still pulls in what it uses of it).
      out.push({ module, measuredWithBytes, residentJsVars: null, namesHeld, note: `cannot be loaded alone: ${(e as Error).message.split('\n')[0]}`, estimate: functionCountEstimate(mods[k]) });
      log(`footprint: ${board}: ${module} could not be measured: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  out.push({
    module: sourceModule(es5, path.relative(process.cwd(), entryAbs)),
    measuredWithBytes: bytesOf.get(entryAbs) ?? 0,
    residentJsVars: null,
    namesHeld: 0,
    note: 'the firmware entry: loading it starts the hub, so it is not loaded alone; memory.<board>.codeResident minus sumOfModules is what it and the started hub hold',
  });
  return {
    interpreter: interpreterLabel,
    method:
      `entry k imports modules 1..k (${board}'s bundle order, then modules only other boards have) holding the names the bundle's modules import from each, built for ${board} by build-firmware.ts; ` +
      'booted from Storage, the holding array deleted at the REPL, process.memory() after GC (the second of two reads); module k = entry k minus entry k-1. ' +
      `Measured once, as ${board}'s bundle has each module: a board whose build keeps less of a module (its defines leave a feature out) holds at most that (residentNote says where the bytes differ)`,
    baseline,
    modules: out,
    sumOfModules: last - baseline,
  };
}

