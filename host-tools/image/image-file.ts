// OTA files named on the command line. One that cannot be read (missing, a directory, no permission) or
// written is a usage error, exit 2 (host-tools/cli.ts), in every command that takes one, as a missing
// scenario, plan or fleet file already is; a file that is read but cannot be served fails the operation (1).
import * as fs from 'fs';
import { UsageError } from '../link/port-option';

function fileError(verb: 'read' | 'write', file: string, e: unknown): UsageError {
  const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
  return new UsageError(`cannot ${verb} ${file}: ${missing ? (verb === 'read' ? 'no such file' : 'no such directory') : (e as Error).message}`);
}

export function readImageFile(file: string): Uint8Array {
  try {
    return new Uint8Array(fs.readFileSync(file));
  } catch (e) {
    throw fileError('read', file, e);
  }
}

export function writeImageFile(file: string, data: Uint8Array): void {
  try {
    fs.writeFileSync(file, data);
  } catch (e) {
    throw fileError('write', file, e);
  }
}
