// Top-level `var X = <small integer or boolean>` that nothing assigns again: every use of X gets the
// literal and the var goes. On Espruino each global is a JsVar held for as long as the hub runs (the
// hub's named constants are ~40 of them); pretokenised, a small integer is 1-3 bytes, as short as the
// name it replaces. Run on the bundle at global scope (after unwrapBundleIife). ES5 only: scopes are
// functions (and catch clauses), which is all this tracks.
// Only constants declared before the first top-level code that runs anything (a call, a `new`) are
// taken: code run earlier than a declaration sees the name undefined, and must go on seeing that.
import * as acorn from 'acorn';

type AnyNode = acorn.Node & Record<string, any>;

const INT16 = 32767;

/** The literal text for an initializer worth inlining, or undefined. */
function constantText(init: AnyNode | null | undefined): string | undefined {
  if (!init) return undefined;
  if (init.type === 'Literal' && typeof init.value === 'boolean') return String(init.value);
  let n: AnyNode = init;
  let sign = 1;
  if (n.type === 'UnaryExpression' && n.operator === '!' && n.argument.type === 'Literal' && (n.argument.value === 0 || n.argument.value === 1)) return n.argument.value === 0 ? 'true' : 'false';
  if (n.type === 'UnaryExpression' && n.operator === '-') {
    sign = -1;
    n = n.argument;
  }
  if (n.type !== 'Literal' || typeof n.value !== 'number') return undefined;
  const v = sign * n.value;
  if (!Number.isInteger(v) || Math.abs(v) > INT16) return undefined;
  return String(v);
}

/** Names a function scope declares: parameters, hoisted vars, inner function declarations, its own name. */
function declaredIn(fn: AnyNode): Set<string> {
  const names = new Set<string>(['arguments']);
  if (fn.id && fn.type === 'FunctionExpression') names.add(fn.id.name);
  for (const p of fn.params) names.add(p.name);
  const visit = (n: AnyNode) => {
    if (!n || typeof n.type !== 'string') return;
    if (n.type === 'VariableDeclarator') names.add(n.id.name);
    if (n.type === 'FunctionDeclaration') {
      names.add(n.id.name);
      return; // its body is its own scope
    }
    if (n.type === 'FunctionExpression') return;
    for (const k of Object.keys(n)) {
      const v = n[k];
      if (Array.isArray(v)) v.forEach(visit);
      else if (v && typeof v.type === 'string') visit(v);
    }
  };
  visit(fn.body);
  return names;
}

/** Whether identifier `n` (child `key` of `parent`) is a reference to a variable, not a name of something else. */
function isReference(n: AnyNode, parent: AnyNode | null, key: string): boolean {
  if (!parent) return true;
  if (parent.type === 'MemberExpression' && key === 'property' && !parent.computed) return false;
  if (parent.type === 'Property' && key === 'key' && !parent.computed) return false;
  if ((parent.type === 'FunctionDeclaration' || parent.type === 'FunctionExpression') && (key === 'id' || key === 'params')) return false;
  if (parent.type === 'VariableDeclarator' && key === 'id') return false;
  if (parent.type === 'CatchClause' && key === 'param') return false;
  if ((parent.type === 'LabeledStatement' || parent.type === 'BreakStatement' || parent.type === 'ContinueStatement') && key === 'label') return false;
  return true;
}

/** Whether evaluating `n` can run no code of the program's: literals, functions, plain objects and
 *  arrays of such, operators on literals, and assignments of such to a name or a named property. */
function inert(n: AnyNode | null | undefined): boolean {
  if (!n) return true;
  switch (n.type) {
    case 'Literal':
    case 'Identifier':
    case 'FunctionExpression':
      return true;
    case 'ObjectExpression':
      return n.properties.every((p: AnyNode) => p.kind === 'init' && !p.computed && inert(p.value));
    case 'ArrayExpression':
      return n.elements.every((e: AnyNode | null) => inert(e));
    case 'UnaryExpression':
      return n.argument.type === 'Literal';
    case 'BinaryExpression':
    case 'LogicalExpression':
      return n.left.type === 'Literal' && n.right.type === 'Literal';
    case 'MemberExpression':
      return !n.computed && inert(n.object);
    case 'AssignmentExpression':
      return n.operator === '=' && (n.left.type === 'Identifier' || (n.left.type === 'MemberExpression' && !n.left.computed && inert(n.left.object))) && inert(n.right);
    case 'SequenceExpression':
      return n.expressions.every(inert);
    default:
      return false;
  }
}

export function inlineConstants(src: string): { code: string; inlined: string[] } {
  const ast = acorn.parse(src, { ecmaVersion: 5 }) as AnyNode;
  const consts = new Map<string, string>();
  const declarations = new Map<string, number>();
  let quiet = true; // no top-level code has run anything yet
  for (const st of ast.body) {
    const decls: AnyNode[] = st.type === 'VariableDeclaration' ? st.declarations : [];
    for (const d of decls) {
      declarations.set(d.id.name, (declarations.get(d.id.name) || 0) + 1);
      const text = constantText(d.init);
      if (text !== undefined && quiet) consts.set(d.id.name, text);
      if (!inert(d.init)) quiet = false;
    }
    if (st.type === 'ExpressionStatement' && !inert(st.expression)) quiet = false;
    else if (st.type !== 'VariableDeclaration' && st.type !== 'FunctionDeclaration' && st.type !== 'ExpressionStatement' && st.type !== 'EmptyStatement') quiet = false;
    if (st.type === 'FunctionDeclaration') declarations.set(st.id.name, (declarations.get(st.id.name) || 0) + 1);
  }
  for (const [name] of consts) if (declarations.get(name) !== 1) consts.delete(name);

  // Every reference that resolves to one of them (no enclosing scope declares the name); any write disqualifies.
  const uses: { start: number; end: number; name: string; wrap: boolean }[] = [];
  const written = new Set<string>();
  const scopes: Set<string>[] = [];
  const walk = (n: AnyNode, parent: AnyNode | null, key: string) => {
    if (!n || typeof n.type !== 'string') return;
    if (n.type === 'Identifier' && consts.has(n.name) && isReference(n, parent, key) && !scopes.some((s) => s.has(n.name))) {
      const target = (parent?.type === 'AssignmentExpression' && key === 'left') || parent?.type === 'UpdateExpression' || (parent?.type === 'ForInStatement' && key === 'left');
      if (target) written.add(n.name);
      else if (!(parent?.type === 'VariableDeclarator' && key === 'id')) {
        const member = parent?.type === 'MemberExpression' && key === 'object';
        uses.push({ start: n.start, end: n.end, name: n.name, wrap: member || consts.get(n.name)!.startsWith('-') });
      }
    }
    const fn = n.type === 'FunctionDeclaration' || n.type === 'FunctionExpression';
    const catchScope = n.type === 'CatchClause';
    if (fn) scopes.push(declaredIn(n));
    if (catchScope) scopes.push(new Set([n.param.name]));
    for (const k of Object.keys(n)) {
      if (k === 'type' || k === 'start' || k === 'end') continue;
      const v = n[k];
      if (Array.isArray(v)) v.forEach((c) => walk(c, n, k));
      else if (v && typeof v.type === 'string') walk(v, n, k);
    }
    if (fn || catchScope) scopes.pop();
  };
  walk(ast, null, '');
  for (const name of written) consts.delete(name);

  // Uses first (they never overlap a removed declarator: those initializers are literals), then the
  // declarations, rebuilt from what is left of them.
  const edits: { start: number; end: number; text: string }[] = [];
  for (const u of uses) if (consts.has(u.name)) edits.push({ start: u.start, end: u.end, text: u.wrap ? `(${consts.get(u.name)})` : consts.get(u.name)! });
  for (const st of ast.body) {
    if (st.type !== 'VariableDeclaration' || !st.declarations.some((d: AnyNode) => consts.has(d.id.name))) continue;
    const kept = st.declarations.filter((d: AnyNode) => !consts.has(d.id.name));
    // A kept initializer may hold a use: its text is rebuilt with those uses replaced.
    const parts = kept.map((d: AnyNode) => {
      let text = src.slice(d.start, d.end);
      const inside = edits.filter((e) => e.start >= d.start && e.end <= d.end).sort((a, b) => b.start - a.start);
      for (const e of inside) text = text.slice(0, e.start - d.start) + e.text + text.slice(e.end - d.start);
      return text;
    });
    for (let i = edits.length - 1; i >= 0; i--) if (edits[i].start >= st.start && edits[i].end <= st.end) edits.splice(i, 1);
    edits.push({ start: st.start, end: st.end, text: parts.length ? `var ${parts.join(',')};` : '' });
  }
  let code = src;
  for (const e of edits.sort((a, b) => b.start - a.start)) code = code.slice(0, e.start) + e.text + code.slice(e.end);
  return { code, inlined: [...consts.keys()].sort() };
}
