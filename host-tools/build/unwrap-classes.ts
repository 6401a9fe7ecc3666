// A JsVar-saving rewrite of TypeScript's ES5 class output, applied to the bundle before minifying.
//
// tsc emits every class as an IIFE:  var Hub = (function () { function Hub(..) {..} Hub.prototype.m = function () {..}; return Hub; }());
// On Espruino each function defined inside another function keeps a link to that scope (one more JsVar
// per method, ~150 for the hub), so the hub did not boot on a 2500-JsVar board. This pass lifts the body
// of each such IIFE into the enclosing scope:  function Hub(..) {..} Hub.prototype.m = function () {..};
// It only touches IIFEs that hold nothing but the constructor and expression statements, and only when
// the constructor's name is not used anywhere else, so the meaning of the program does not change.
import * as acorn from 'acorn';

type AnyNode = acorn.Node & Record<string, any>;

function walk(node: AnyNode, visit: (n: AnyNode) => void): void {
  visit(node);
  for (const key of Object.keys(node)) {
    if (key === 'type' || key === 'start' || key === 'end' || key === 'loc') continue;
    const v = node[key];
    if (Array.isArray(v)) {
      for (const c of v) if (c && typeof c.type === 'string') walk(c, visit);
    } else if (v && typeof v === 'object' && typeof v.type === 'string') walk(v, visit);
  }
}

/** Identifier names used (declared or referenced) inside [start, end) and outside it. */
function namesOutside(all: { name: string; start: number }[], start: number, end: number): Set<string> {
  const out = new Set<string>();
  for (const n of all) if (n.start < start || n.start >= end) out.add(n.name);
  return out;
}

/** A class IIFE `var X = (function () { function Y(){} ...; return Y; }())` → its parts, or null. */
function classIife(st: AnyNode): { outer: string; inner: string; body: AnyNode[]; ret: AnyNode; fn: AnyNode } | null {
  if (st.type !== 'VariableDeclaration' || st.declarations.length !== 1) return null;
  const d = st.declarations[0];
  if (d.id.type !== 'Identifier' || !d.init || d.init.type !== 'CallExpression' || d.init.arguments.length !== 0) return null;
  const fn = d.init.callee;
  if (fn.type !== 'FunctionExpression' || fn.params.length !== 0 || fn.id) return null;
  const body: AnyNode[] = fn.body.body;
  const ret = body[body.length - 1];
  if (!ret || ret.type !== 'ReturnStatement' || !ret.argument || ret.argument.type !== 'Identifier') return null;
  const inner = ret.argument.name as string;
  let ctors = 0;
  for (const s of body.slice(0, -1)) {
    if (s.type === 'FunctionDeclaration' && s.id.name === inner) ctors++;
    else if (s.type !== 'ExpressionStatement' || s.directive) return null;
  }
  if (ctors !== 1) return null;
  // `this` or `arguments` directly in the IIFE body (not inside its methods) would change meaning when lifted.
  let usesThis = false;
  for (const s of body) {
    if (s.type !== 'ExpressionStatement') continue;
    walkOwnScope(s.expression, (n) => {
      if (n.type === 'ThisExpression' || (n.type === 'Identifier' && n.name === 'arguments')) usesThis = true;
    });
  }
  if (usesThis) return null;
  return { outer: d.id.name, inner, body: body.slice(0, -1), ret, fn };
}

/** Walks without entering nested functions (their `this` is their own). */
function walkOwnScope(node: AnyNode, visit: (n: AnyNode) => void): void {
  visit(node);
  if (node.type === 'FunctionExpression' || node.type === 'FunctionDeclaration') return;
  for (const key of Object.keys(node)) {
    if (key === 'type' || key === 'start' || key === 'end' || key === 'loc') continue;
    const v = node[key];
    if (Array.isArray(v)) {
      for (const c of v) if (c && typeof c.type === 'string') walkOwnScope(c, visit);
    } else if (v && typeof v === 'object' && typeof v.type === 'string') walkOwnScope(v, visit);
  }
}

/**
 * Offsets of the references to the constructor `inner` inside a class IIFE, when they can all be
 * renamed to `outer`: `outer` is not used inside, and `inner` is declared nowhere inside but as the
 * constructor. Otherwise null.
 */
function innerRenames(fn: AnyNode, inner: string, outer: string): number[] | null {
  const at: number[] = [];
  let ok = true;
  let ctorDecls = 0;
  const visit = (n: AnyNode, parent: AnyNode | null, key: string) => {
    if (n.type === 'Identifier') {
      if (n.name === outer) ok = false;
      if (n.name !== inner) return;
      if (parent && parent.type === 'MemberExpression' && key === 'property' && !parent.computed) return;
      if (parent && parent.type === 'Property' && key === 'key' && !parent.computed) return;
      if (parent && parent.type === 'FunctionDeclaration' && key === 'id') ctorDecls++;
      else if (parent && ((parent.type === 'VariableDeclarator' && key === 'id') || (parent.type === 'FunctionExpression' && key === 'id') || key === 'params' || (parent.type === 'CatchClause' && key === 'param')))
        ok = false;
      at.push(n.start);
    }
  };
  (function w(n: AnyNode, parent: AnyNode | null, key: string) {
    visit(n, parent, key);
    for (const k of Object.keys(n)) {
      if (k === 'type' || k === 'start' || k === 'end' || k === 'loc') continue;
      const v = n[k];
      if (Array.isArray(v)) {
        for (const c of v) if (c && typeof c.type === 'string') w(c, n, k);
      } else if (v && typeof v === 'object' && typeof v.type === 'string') w(v, n, k);
    }
  })(fn, null, '');
  return ok && ctorDecls === 1 ? at : null;
}

/** Lifts class IIFEs found directly in the bundle's top-level function (esbuild's iife wrapper) or at top level. */
export function unwrapClassIifes(src: string): { code: string; unwrapped: number } {
  const ast = acorn.parse(src, { ecmaVersion: 5 }) as AnyNode;
  const ids: { name: string; start: number }[] = [];
  walk(ast, (n) => {
    if (n.type === 'Identifier') ids.push({ name: n.name, start: n.start });
  });
  // Statement lists to scan: the program, and the body of a top-level IIFE (esbuild --format=iife).
  const lists: AnyNode[][] = [ast.body];
  for (const st of ast.body) {
    if (st.type === 'ExpressionStatement' && st.expression.type === 'CallExpression' && st.expression.callee.type === 'FunctionExpression') lists.push(st.expression.callee.body.body);
  }
  const edits: { start: number; end: number; text: string }[] = [];
  for (const list of lists) {
    for (const st of list) {
      const c = classIife(st);
      if (!c) continue;
      const outside = namesOutside(ids, c.fn.start, c.fn.end);
      if (c.inner !== c.outer && outside.has(c.inner)) continue; // lifting would collide with another name
      const first = c.body[0];
      const renames = c.inner === c.outer ? [] : innerRenames(c.fn, c.inner, c.outer);
      let lifted = src.slice(first.start, c.ret.start).trimEnd();
      if (renames) {
        // esbuild named the constructor apart (Hub2 for Hub): use the outer name, saving an alias JsVar.
        for (const r of renames.sort((a, b) => b - a)) lifted = lifted.slice(0, r - first.start) + c.outer + lifted.slice(r - first.start + c.inner.length);
      } else lifted = `${lifted}\nvar ${c.outer} = ${c.inner};`;
      edits.push({ start: st.start, end: st.end, text: lifted });
    }
  }
  edits.sort((a, b) => b.start - a.start);
  let code = src;
  for (const e of edits) code = code.slice(0, e.start) + e.text + code.slice(e.end);
  return { code, unwrapped: edits.length };
}

/** Names a board may already define globally: pins (A0, D31, ...), E, g (Bangle graphics), LEDs, buttons, UARTs, ... */
const ESPRUINO_GLOBAL = /^([A-H][0-9]{1,2}|E|g|LED[0-9]?|BTN[0-9]?|NRF|Puck|Pixl|Bangle|Badge|Serial[0-9]|USB|Bluetooth|Telnet|Loopback[AB]|SPI[0-9]?|I2C[0-9]?|Pin|Terminal|Graphics|Modules|global|require|print|trace|load|save|reset|dump|edit|peek8|peek16|peek32|poke8|poke16|poke32|getTime|setTime|setWatch|clearWatch|setInterval|setTimeout|clearInterval|clearTimeout|changeInterval|console|process|atob|btoa|arguments|eval|quit)$/;

/** Concrete names matching ESPRUINO_GLOBAL, for reserveEspruinoGlobals. */
export function espruinoGlobalNames(): string[] {
  const out: string[] = [];
  for (const port of 'ABCDEFGH') for (let i = 0; i < 48; i++) out.push(port + i);
  for (let i = 0; i < 10; i++) out.push('LED' + i, 'BTN' + i, 'Serial' + i, 'SPI' + i, 'I2C' + i);
  out.push('E', 'g', 'LED', 'BTN', 'NRF', 'Puck', 'Pixl', 'Bangle', 'Badge', 'USB', 'Bluetooth', 'Telnet', 'LoopbackA', 'LoopbackB', 'SPI', 'I2C', 'Pin', 'Terminal', 'Graphics', 'Modules');
  return out;
}

/**
 * Makes the minifier avoid names a board defines globally, so they can be top-level names after
 * unwrapBundleIife: esbuild never renames to a name the code references as a global, so the bundle's
 * IIFE gets a dead `if (false) { D0; D1; ... }` that the minifier drops after reading it.
 */
export function reserveEspruinoGlobals(src: string): string {
  const ast = acorn.parse(src, { ecmaVersion: 5 }) as AnyNode;
  const top = ast.body.find((s: AnyNode) => s.type === 'ExpressionStatement' && s.expression.type === 'CallExpression' && s.expression.callee.type === 'FunctionExpression');
  if (!top) return src;
  const end = top.expression.callee.body.end - 1; // before the closing brace
  return src.slice(0, end) + `\nif (false) { ${espruinoGlobalNames().join('; ')}; }\n` + src.slice(end);
}

/**
 * Turns a minified `"use strict";(function(){BODY})();` bundle into `BODY` at global scope.
 * Espruino links every function defined inside another function to that scope (one JsVar each), so
 * functions at global scope are cheaper: ~220 JsVars for the hub. The minifier's top-level names become
 * globals, so a name a board may already define (pins such as D1, E, LED1, ...) is refused.
 */
export function unwrapBundleIife(src: string): { code: string; globals: string[] } {
  const ast = acorn.parse(src, { ecmaVersion: 5 }) as AnyNode;
  const stmts = ast.body.filter((s: AnyNode) => !(s.type === 'ExpressionStatement' && s.directive));
  const only = stmts.length === 1 ? stmts[0] : null;
  // (function(){...})() from esbuild, !function(){...}() from other minifiers
  let call = only && only.type === 'ExpressionStatement' ? only.expression : null;
  if (call && call.type === 'UnaryExpression' && call.operator === '!') call = call.argument;
  if (!call || call.type !== 'CallExpression' || call.arguments.length !== 0) throw new Error('bundle is not a single IIFE');
  const fn = call.callee;
  if (fn.type !== 'FunctionExpression' || fn.params.length !== 0 || fn.id) throw new Error('bundle is not a single IIFE');
  const body: AnyNode[] = fn.body.body;
  const globals: string[] = [];
  let bad = '';
  for (const s of body) {
    if (s.type === 'ReturnStatement') throw new Error('bundle IIFE has a top-level return');
    if (s.type === 'VariableDeclaration') for (const d of s.declarations) globals.push(d.id.name);
    if (s.type === 'FunctionDeclaration') globals.push(s.id.name);
  }
  walkOwnScope(fn.body, (n) => {
    if (n.type === 'ThisExpression' || (n.type === 'Identifier' && n.name === 'arguments')) bad = 'uses this/arguments at top level';
  });
  if (bad) throw new Error(`bundle IIFE ${bad}`);
  const clash = globals.filter((g) => ESPRUINO_GLOBAL.test(g));
  if (clash.length) throw new Error(`top-level names would shadow Espruino globals: ${clash.join(', ')}`);
  const directives = ast.body.filter((s: AnyNode) => s.type === 'ExpressionStatement' && s.directive).map((s: AnyNode) => src.slice(s.start, s.end));
  const inner = body.length ? src.slice(body[0].start, body[body.length - 1].end) : '';
  return { code: directives.join('') + inner + '\n', globals };
}

/** The one global that holds the prototype being filled in; see aliasPrototypes. */
export const PROTOTYPE_ALIAS = '$p';

/**
 * `X.prototype.a=function(){..},X.prototype.b=function(){..}` at top level becomes
 * `($p=X.prototype).a=function(){..},$p.b=function(){..}`: about 10 bytes of Storage per method for
 * one JsVar. Only assignments that are whole top-level statements (or items of one comma sequence)
 * are rewritten: those run in source order, and method bodies never touch the alias.
 */
export function aliasPrototypes(src: string): { code: string; aliased: number } {
  const ast = acorn.parse(src, { ecmaVersion: 5 }) as AnyNode;
  walk(ast, (n) => {
    if (n.type === 'Identifier' && n.name === PROTOTYPE_ALIAS) throw new Error(`the bundle already uses the name ${PROTOTYPE_ALIAS}`);
  });
  const edits: { start: number; end: number; text: string }[] = [];
  let current = '';
  for (const st of ast.body) {
    if (st.type !== 'ExpressionStatement') continue;
    const items: AnyNode[] = st.expression.type === 'SequenceExpression' ? st.expression.expressions : [st.expression];
    for (const e of items) {
      const target = e.type === 'AssignmentExpression' && e.operator === '=' ? e.left : null;
      const proto = target && target.type === 'MemberExpression' && !target.computed ? target.object : null;
      if (!proto || proto.type !== 'MemberExpression' || proto.computed || proto.object.type !== 'Identifier' || proto.property.name !== 'prototype') continue;
      const cls = proto.object.name as string;
      edits.push({ start: proto.start, end: proto.end, text: cls === current ? PROTOTYPE_ALIAS : `(${PROTOTYPE_ALIAS}=${cls}.prototype)` });
      current = cls;
    }
  }
  let code = src;
  for (const e of edits.sort((a, b) => b.start - a.start)) code = code.slice(0, e.start) + e.text + code.slice(e.end);
  return { code, aliased: edits.length };
}
