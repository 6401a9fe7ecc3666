// The hub's state files for the Node-run hub: one file per table. Each write goes to a temp file that is
// then renamed over the old one, so a crash mid-write leaves the previous state, never half a file.
import * as fs from 'fs';
import * as path from 'path';
import { KeyValueStore } from '../ports/kv-store';

export class FileKeyValueStore implements KeyValueStore {
  constructor(private dir: string) {
    fs.mkdirSync(dir, { recursive: true });
  }

  get(key: string): Uint8Array | undefined {
    try {
      return new Uint8Array(fs.readFileSync(this.file(key)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  set(key: string, value: Uint8Array): void {
    const file = this.file(key);
    const tmp = file + '.tmp';
    fs.writeFileSync(tmp, value);
    fs.renameSync(tmp, file);
  }

  private file(key: string): string {
    if (!/^[A-Za-z0-9_-]+$/.test(key)) throw new Error('bad key-value store key ' + JSON.stringify(key) + ': want letters, digits, _ or -');
    return path.join(this.dir, key + '.bin');
  }
}
