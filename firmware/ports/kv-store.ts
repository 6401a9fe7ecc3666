// The hub's state files (device log, images, the ledger of jobs and alerts): each one table's bytes,
// rewritten whole. Espruino Storage on a board, files on the Node hub.

export interface KeyValueStore {
  get(key: string): Uint8Array | undefined;
  set(key: string, value: Uint8Array): void;
}
