// Small JSON-able records the hub must keep across resets: device log, jobs, alerts, image metadata.

export interface KeyValueStore {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
}
