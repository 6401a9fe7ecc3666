// What a board file means for the hub core: DEFAULT_CONFIG with the board's name, image mode and limits.
// Baked into the board's bundle by the build, and used by `chub emulate --board` for a Node hub with a
// board's limits.
import { DEFAULT_CONFIG, HubConfig } from '../../firmware/core/hub';
import { BoardFile } from './board-file';

/** The hub core's config for board `b` running firmware version `fw`. */
export function hubConfigFor(b: BoardFile, fw: string): HubConfig {
  // board-file.ts lets only HubConfig's limits into `hub`.
  return { ...DEFAULT_CONFIG, ...b.hub, fw, board: b.name, mode: b.imageMode };
}
