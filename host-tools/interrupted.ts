// Long-running commands (emulate, sim, monitor, distribute --wait) end on Ctrl-C or SIGTERM by resolving
// this promise, so they can close ports and stop socat instead of dying mid-write.
export function interrupted(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    // Later signals are absorbed, not fatal: Ctrl-C reaches every process in the terminal's group and a
    // supervisor (the demo, a test) may follow with SIGTERM; dying then would leave socat running.
    const on = (sig: NodeJS.Signals) => resolve(sig);
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
