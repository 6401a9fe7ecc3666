// Long-running commands (emulate, monitor, distribute --wait) end on Ctrl-C or SIGTERM by resolving
// this promise, so they can close ports and stop socat instead of dying mid-write.
export function interrupted(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (sig: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}
