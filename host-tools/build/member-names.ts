// Which firmware class member names (methods and fields) the bundle may shorten. On Espruino every
// property name longer than four characters costs an extra JsVar (two past ten), held for as long as the
// hub runs, and the names are most of the bundle's bytes after the code. esbuild's mangleProps renames
// every use of a name, so only names that are nothing else may go: not a builtin's (lib.*.d.ts,
// espruino.d.ts), not a field of any interface or object type (host-link messages, saved state, board
// config), not a key of any object literal, and not any string in the firmware (looked-up names).
import * as ts from 'typescript';

/** Names of three characters or fewer gain nothing. */
const MIN_LENGTH = 4;

export function shortenableMembers(program: ts.Program): string[] {
  const methods = new Set<string>();
  const reserved = new Set<string>();
  for (const sf of program.getSourceFiles()) {
    const declarationFile = sf.isDeclarationFile;
    const visit = (n: ts.Node): void => {
      if (declarationFile) {
        // Everything a builtin or an Espruino global has: calls on those must keep their names.
        if ((ts.isPropertySignature(n) || ts.isMethodSignature(n) || ts.isPropertyDeclaration(n) || ts.isMethodDeclaration(n) || ts.isGetAccessor(n)) && n.name && ts.isIdentifier(n.name))
          reserved.add(n.name.text);
      } else if ((ts.isMethodDeclaration(n) || ts.isPropertyDeclaration(n)) && ts.isClassLike(n.parent) && ts.isIdentifier(n.name)) methods.add(n.name.text);
      else if (ts.isParameter(n) && ts.isConstructorDeclaration(n.parent) && ts.getModifiers(n)?.length && ts.isIdentifier(n.name)) methods.add(n.name.text);
      // Fields of interfaces and object types are shapes of plain objects (messages, saved state, config):
      // their names are on the wire or in flash.
      else if (ts.isPropertySignature(n) && n.name && (ts.isIdentifier(n.name) || ts.isStringLiteral(n.name))) reserved.add(n.name.text);
      else if ((ts.isPropertyAssignment(n) || ts.isShorthandPropertyAssignment(n) || ts.isMethodDeclaration(n)) && ts.isObjectLiteralExpression(n.parent) && n.name && (ts.isIdentifier(n.name) || ts.isStringLiteral(n.name)))
        reserved.add(n.name.text);
      else if (ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n)) reserved.add(n.text);
      ts.forEachChild(n, visit);
    };
    visit(sf);
  }
  return [...methods].filter((m) => m.length >= MIN_LENGTH && !reserved.has(m)).sort();
}
