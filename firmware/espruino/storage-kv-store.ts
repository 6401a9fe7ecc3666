// KeyValueStore on Espruino Storage: one small JSON file per key.
import { KeyValueStore } from '../ports/kv-store';
import { storage } from './modules';

export const KV_PREFIX = 'kv:';

export class StorageKvStore implements KeyValueStore {
  private storage = storage();

  get(key: string): unknown {
    return this.storage.readJSON(KV_PREFIX + key, true);
  }

  set(key: string, value: unknown): void {
    this.storage.writeJSON(KV_PREFIX + key, value);
  }
}
