// The Storage a board's hub needs beside its bundle: its state files (device log, images, the ledger of jobs
// and alerts), whose sizes follow from the board's limits, and room to write the largest one's new copy
// before the old one is erased. Measured by the core itself: a hub built with the board's config saves each
// table into a store that only counts, so the layout is never restated here.
import { Hub } from '../../firmware/core/hub';
import { Radio } from '../../firmware/ports/radio';
import { BoardFile } from './board-file';
import { hubConfigFor } from './hub-config';

/** Espruino Storage's file header: size and a 28-byte name (jsflash.h JsfFileHeader, 2v29). */
export const STORAGE_FILE_HEADER = 32;
/** One flash page of slack (4 KB on nRF52): Storage writes and compacts in pages. */
const PAGE_SLACK = 4096;

/** Bytes of each state file the board's hub writes (devices, images, ledger). */
export function stateFileBytes(board: BoardFile): number[] {
  const sizes: number[] = [];
  const kv = { get: () => undefined, set: (_key: string, value: Uint8Array) => void sizes.push(value.length) };
  // Never started: the radio is not used.
  const hub = new Hub({ kv, radio: {} as Radio, sendHost: () => undefined, crc32: () => 0 }, hubConfigFor(board, '0'));
  for (let t = 0; t < 3; t++) hub.save(t);
  return sizes;
}

/** Storage the hub needs beside its bundle on `board`. */
export function stateRoomBytes(board: BoardFile): number {
  const files = stateFileBytes(board);
  return files.reduce((n, b) => n + b + STORAGE_FILE_HEADER, 0) + Math.max(...files) + STORAGE_FILE_HEADER + PAGE_SLACK;
}
