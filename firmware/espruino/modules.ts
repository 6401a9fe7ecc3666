// Espruino's built-in modules. Looked up through `global` rather than a bare `require(...)`: esbuild
// turns require() in an ES module into a shim that needs Proxy, which Espruino lacks.

type Require = (name: string) => unknown;

export function storage(): EspruinoStorage {
  return (global['require'] as Require)('Storage') as EspruinoStorage;
}
