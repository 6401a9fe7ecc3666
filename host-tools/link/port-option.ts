// Which serial port a command talks to: --port, else $CHUB_PORT.
import { Command, Option } from 'commander';
import { HubClient } from './hub-client';

export const PORT_ENV = 'CHUB_PORT';

export class UsageError extends Error {}

export function portOption(): Option {
  return new Option('-p, --port <path>', `serial port of the hub (default: $${PORT_ENV})`);
}

/** Adds --port to a command that talks to the hub. */
export function withPort(cmd: Command): Command {
  return cmd.addOption(portOption());
}

export function resolvePort(opts: { port?: string }, env: NodeJS.ProcessEnv = process.env): string {
  const p = opts.port || env[PORT_ENV];
  if (!p) throw new UsageError(`no hub port: pass --port <path> or set ${PORT_ENV} (\`chub emulate\` prints one)`);
  return p;
}

/** Opens a client on the resolved port, runs `f`, and always closes the port. */
export async function withHub<T>(opts: { port?: string }, f: (hub: HubClient) => Promise<T>): Promise<T> {
  const hub = await HubClient.open(resolvePort(opts));
  try {
    return await f(hub);
  } finally {
    await hub.close();
  }
}
