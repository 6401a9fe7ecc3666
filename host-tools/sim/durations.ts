// Durations as people write them in scenario files ("500ms", "30s", "5m", "1h", "1m30s") and as reports print them.

const UNITS: { [unit: string]: number } = { ms: 1, s: 1000, m: 60000, h: 3600000 };

/** Milliseconds, or null if `s` is not one or more <number><unit> parts. */
export function parseDuration(s: string): number | null {
  const t = s.trim();
  if (t === '' || !/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(t)) return null;
  let ms = 0;
  for (const m of t.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(m[1]) * UNITS[m[2]];
  return ms;
}

/** "850ms", "12.3s", "4m05s", "1h02m". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
