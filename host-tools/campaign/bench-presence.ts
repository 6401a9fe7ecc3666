// Which benches of a campaign have a runner working, which are missing and since when, and which have run
// past their timeout. A runner beats a heartbeat into its run; one silent for STALE_MS is taken for gone
// (killed, or its machine is down), even when its run was never marked ended. Pure.
import { BenchRow, RunRow } from './campaign-store';

/** How often a runner writes its heartbeat. */
export const HEARTBEAT_MS = 2000;
/** A run whose heartbeat is older than this is not counted as a runner at work. */
export const STALE_MS = 15000;

export interface BenchPresence {
  name: string;
  /** Seconds a missing bench may hold a stage open; null: for ever. */
  timeoutS: number | null;
  /** Some runner of the bench is at work. */
  present: boolean;
  /** Its runners' last heartbeat; null if none ever ran. */
  lastSeen: number | null;
  /** Missing since: its last heartbeat, or when the campaign was created if it never came. */
  since: number;
}

export function runIsLive(r: RunRow, now: number): boolean {
  return r.ended === null && r.heartbeat >= now - STALE_MS;
}

export function benchPresence(benches: BenchRow[], runs: RunRow[], created: number, now: number): BenchPresence[] {
  return benches.map((b) => {
    const own = runs.filter((r) => r.bench === b.name);
    const lastSeen = own.length ? Math.max(...own.map((r) => r.heartbeat)) : null;
    return { name: b.name, timeoutS: b.timeoutS, present: own.some((r) => runIsLive(r, now)), lastSeen, since: lastSeen ?? created };
  });
}

/** A missing bench past its timeout: its unfinished hubs of the stage under way count as not reached. */
export function pastTimeout(p: BenchPresence, now: number): boolean {
  return !p.present && p.timeoutS !== null && now - p.since >= p.timeoutS * 1000;
}

export function notReachedReason(p: BenchPresence, now: number): string {
  return `not reached: bench ${p.name} missing for ${Math.round((now - p.since) / 1000)} s, past its timeout of ${p.timeoutS} s`;
}
