// The Espruino gate: does a JavaScript bundle only use what Espruino 2v29 runs?
// 1. It must parse as ES5 (acorn, ecmaVersion 5): no let/const, arrows, classes, templates, for-of, ...
// 2. It must not use a global, static method or instance method that Espruino lacks
//    (FACTS §5 and ../shared/tools/espruino/README.md "Language support", re-probed on the 2v29 build).
// 3. No syntax that ES5 allows but Espruino lacks (labelled statements, `with`), and no regular
//    expression feature Espruino's RegExp lacks ({n,m} and ? quantifiers, lazy quantifiers, (?: ),
//    lookaround, \b, backreferences) — those do not fail on the device, they silently never match.
// Pure: source in, problems (with line/column) out. Used by the firmware build and by tests.
import * as acorn from 'acorn';

export interface GateProblem {
  /** What is wrong, e.g. 'uses Map (Espruino 2v29 has no Map)'. */
  message: string;
  /** Character offset in the source. */
  pos: number;
  line: number;
  column: number;
}

/** Globals Espruino 2v29 does not define. */
export const MISSING_GLOBALS = [
  'Map', 'Set', 'WeakMap', 'WeakSet', 'WeakRef', 'FinalizationRegistry', 'Symbol', 'Proxy', 'Reflect', 'BigInt',
  'TextEncoder', 'TextDecoder', 'setImmediate', 'clearImmediate', 'queueMicrotask', 'structuredClone',
  'SharedArrayBuffer', 'Atomics', 'Intl', 'BigInt64Array', 'BigUint64Array',
];

/** Static members Espruino 2v29 lacks, by object. */
export const MISSING_STATICS: Record<string, string[]> = {
  Math: ['imul', 'clz32', 'trunc', 'hypot', 'log2', 'log10', 'cbrt', 'expm1', 'log1p', 'fround', 'sinh', 'cosh', 'tanh', 'asinh', 'acosh', 'atanh'],
  Number: ['isInteger', 'isFinite', 'isNaN', 'isSafeInteger', 'EPSILON', 'MAX_SAFE_INTEGER', 'MIN_SAFE_INTEGER', 'parseInt', 'parseFloat'],
  Array: ['from', 'of'],
  Object: ['freeze', 'seal', 'isFrozen', 'isSealed', 'preventExtensions', 'isExtensible', 'getOwnPropertySymbols', 'is'],
  String: ['raw', 'fromCodePoint'],
  Promise: ['race', 'allSettled', 'any'],
};

/** Instance methods Espruino 2v29 lacks on every type that has them in ES2015+ (flagged when called, on any object). */
export const MISSING_METHODS = [
  'at', 'flat', 'flatMap', 'findLast', 'findLastIndex', 'copyWithin', 'reduceRight', 'codePointAt', 'normalize',
  'trimStart', 'trimEnd', 'matchAll', 'localeCompare', 'finally', 'toSorted', 'toReversed', 'toSpliced', 'with',
];

/** Iterator methods Espruino's arrays lack (flagged when called with no arguments on anything but Object). */
const ITERATOR_METHODS = ['keys', 'values', 'entries'];

type AnyNode = acorn.Node & Record<string, any>;

function walk(node: AnyNode, parent: AnyNode | null, parentKey: string, visit: (n: AnyNode, parent: AnyNode | null, key: string) => void): void {
  visit(node, parent, parentKey);
  for (const key of Object.keys(node)) {
    if (key === 'type' || key === 'start' || key === 'end' || key === 'loc' || key === 'regex') continue;
    const v = node[key];
    if (Array.isArray(v)) {
      for (const c of v) if (c && typeof c.type === 'string') walk(c, node, key, visit);
    } else if (v && typeof v === 'object' && typeof v.type === 'string') walk(v, node, key, visit);
  }
}

/** The name of a member expression's property when it is fixed (a.b or a["b"]), else undefined. */
function memberName(n: AnyNode): string | undefined {
  if (!n.computed && n.property.type === 'Identifier') return n.property.name;
  if (n.computed && n.property.type === 'Literal' && typeof n.property.value === 'string') return n.property.value;
  return undefined;
}

/** Regular-expression features Espruino's RegExp lacks, found in a pattern. */
export function regexProblems(pattern: string): string[] {
  const out: string[] = [];
  const add = (what: string) => {
    if (!out.includes(what)) out.push(what);
  };
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      const e = pattern[i + 1];
      if (!inClass && (e === 'b' || e === 'B')) add(`\\${e} (word boundary)`);
      else if (!inClass && e >= '1' && e <= '9') add(`\\${e} (backreference)`);
      else if (e === 'u') add('\\u escape');
      else if (e === 'k') add('\\k (named backreference)');
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      if (pattern[i + 1] === ']') i++; // "[]..." edge: a literal ] first in a class
      continue;
    }
    if (c === '(' && pattern[i + 1] === '?') {
      add(`(?${pattern[i + 2] ?? ''} group`);
      i++;
      continue;
    }
    if (c === '{' && /^\{\d+(,\d*)?\}/.test(pattern.slice(i))) {
      add(`${/^\{\d+(,\d*)?\}/.exec(pattern.slice(i))![0]} quantifier`);
      continue;
    }
    if (c === '?') {
      const prev = pattern[i - 1];
      add(prev === '*' || prev === '+' || prev === '?' || prev === '}' ? `lazy quantifier ${prev}?` : '? quantifier');
    }
  }
  return out;
}

/** Problems that stop `src` running on Espruino 2v29; empty when it is fit to flash. */
export function checkEspruinoSource(src: string): GateProblem[] {
  const problems: GateProblem[] = [];
  let ast: AnyNode;
  try {
    ast = acorn.parse(src, { ecmaVersion: 5, locations: true, sourceType: 'script' }) as AnyNode;
  } catch (e) {
    const err = e as SyntaxError & { pos?: number; loc?: { line: number; column: number } };
    const pos = err.pos ?? 0;
    const loc = err.loc ?? { line: 1, column: 0 };
    const near = src.slice(Math.max(0, pos - 30), pos + 30).replace(/\s+/g, ' ');
    problems.push({ message: `not ES5 (acorn ecmaVersion 5): ${err.message} near \`${near}\``, pos, line: loc.line, column: loc.column });
    return problems;
  }
  const report = (n: AnyNode, message: string) => problems.push({ message, pos: n.start, line: n.loc!.start.line, column: n.loc!.start.column });

  // Names the bundle itself declares (minified locals, function names, parameters) are not globals.
  const declared = new Set<string>();
  walk(ast, null, '', (n) => {
    if (n.type === 'VariableDeclarator' && n.id.type === 'Identifier') declared.add(n.id.name);
    else if ((n.type === 'FunctionDeclaration' || n.type === 'FunctionExpression') && n.id) declared.add(n.id.name);
    if ((n.type === 'FunctionDeclaration' || n.type === 'FunctionExpression') && n.params) for (const p of n.params) if (p.type === 'Identifier') declared.add(p.name);
    if (n.type === 'CatchClause' && n.param && n.param.type === 'Identifier') declared.add(n.param.name);
  });

  walk(ast, null, '', (n, parent, key) => {
    switch (n.type) {
      case 'Identifier': {
        if (!MISSING_GLOBALS.includes(n.name) || declared.has(n.name)) return;
        if (parent && parent.type === 'MemberExpression' && key === 'property' && !parent.computed) return;
        if (parent && parent.type === 'Property' && key === 'key' && !parent.computed) return;
        if (parent && (parent.type === 'LabeledStatement' || parent.type === 'BreakStatement' || parent.type === 'ContinueStatement')) return;
        report(n, `uses ${n.name} (Espruino 2v29 has no ${n.name})`);
        return;
      }
      case 'MemberExpression': {
        const name = memberName(n);
        if (name === undefined) return;
        if (n.object.type === 'Identifier' && !declared.has(n.object.name)) {
          const missing = MISSING_STATICS[n.object.name];
          if (missing && missing.includes(name)) return report(n, `uses ${n.object.name}.${name} (missing on Espruino 2v29)`);
          if (Object.prototype.hasOwnProperty.call(MISSING_STATICS, n.object.name)) return;
        }
        const called = parent !== null && parent.type === 'CallExpression' && key === 'callee';
        // Only calls: a plain data property may share a name (a message's `at` field, say).
        if (called && MISSING_METHODS.includes(name)) return report(n, `calls .${name}() (missing on Espruino 2v29)`);
        if (name === 'slice' && n.object.type === 'MemberExpression' && memberName(n.object) === 'buffer')
          return report(n, 'uses ArrayBuffer.prototype.slice via .buffer.slice() (missing on Espruino 2v29; use a typed array slice)');
        if (
          called &&
          ITERATOR_METHODS.includes(name) &&
          parent.arguments.length === 0 &&
          !(n.object.type === 'Identifier' && n.object.name === 'Object')
        )
          return report(n, `calls .${name}() with no arguments: array iterators are missing on Espruino 2v29`);
        return;
      }
      case 'LabeledStatement':
        return report(n, `labelled statement "${n.label.name}:" (Espruino 2v29 has no labelled break/continue)`);
      case 'WithStatement':
        return report(n, '`with` statement (Espruino 2v29 has none)');
      case 'Literal': {
        if (!n.regex) return;
        for (const p of regexProblems(n.regex.pattern)) report(n, `regular expression /${n.regex.pattern}/ uses ${p}, which Espruino's RegExp lacks (it silently fails to match)`);
        return;
      }
      case 'NewExpression':
      case 'CallExpression': {
        if (n.callee.type !== 'Identifier' || n.callee.name !== 'RegExp' || declared.has('RegExp')) return;
        const a = n.arguments[0];
        if (a && a.type === 'Literal' && typeof a.value === 'string')
          for (const p of regexProblems(a.value)) report(n, `RegExp(${JSON.stringify(a.value)}) uses ${p}, which Espruino's RegExp lacks (it silently fails to match)`);
        return;
      }
    }
  });
  problems.sort((a, b) => a.pos - b.pos);
  return problems;
}

/** One line per problem, `file:line:col: message`. */
export function formatProblems(file: string, problems: GateProblem[]): string {
  return problems.map((p) => `${file}:${p.line}:${p.column + 1}: ${p.message}`).join('\n');
}
