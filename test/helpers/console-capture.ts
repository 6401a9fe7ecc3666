// What a command run in-process (host-tools/cli.ts run()) printed: console.log and process.stdout.write
// into `out`, console.error into `err`, fresh for each test.
export interface Printed {
  out: string[];
  err: string[];
}

/** Call at the top of a describe (or file): the returned arrays are emptied before each test. */
export function captureConsole(): Printed {
  const p: Printed = { out: [], err: [] };
  beforeEach(() => {
    p.out.length = p.err.length = 0;
    jest.spyOn(console, 'log').mockImplementation((...a) => void p.out.push(a.join(' ')));
    jest.spyOn(console, 'error').mockImplementation((...a) => void p.err.push(a.join(' ')));
    jest.spyOn(process.stdout, 'write').mockImplementation((s) => p.out.push(String(s)) > 0);
  });
  afterEach(() => jest.restoreAllMocks());
  return p;
}
