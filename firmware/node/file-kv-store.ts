// KeyValueStore for the Node-run hub: one JSON file per key. Each write goes to a temp file that is
// then renamed over the old one, so a crash mid-write leaves the previous value, never half a file.
import * as fs from 'fs';
import * as path from 'path';
import { KeyValueStore } from '../ports/kv-store';

export class FileKeyValueStore implements KeyValueStore {
  constructor(private dir: string) {
    fs.mkdirSync(dir, { recursive: true });
  }

  get(key: string): unknown {
    const file = this.file(key);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new Error('hub state file ' + file + ' is not valid JSON: ' + (e as Error).message);
    }
  }

  set(key: string, value: unknown): void {
    const file = this.file(key);
    const tmp = file + '.tmp';
    fs.writeFileSync(tmp, JSON.stringify(value));
    fs.renameSync(tmp, file);
  }

  private file(key: string): string {
    if (!/^[A-Za-z0-9_-]+$/.test(key)) throw new Error('bad key-value store key ' + JSON.stringify(key) + ': want letters, digits, _ or -');
    return path.join(this.dir, key + '.json');
  }
}
