// The text `chub sim run` prints: one row per device, then the run's totals, the airtime floor next to the
// measured time, the radio's counters, the simulator's speed and each expectation's verdict.
import { formatDuration } from './durations';
import { RunReport, RunSpeed } from './scenario-run';

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => (c >= 4 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd());
}

export function formatReport(r: RunReport, speed: RunSpeed): string {
  const lines = [`scenario ${r.scenario} (${r.file}), seed ${r.seed}: ${r.devices.length} devices, image ${r.imageSize} B`, ''];
  const rows = [['device', 'type', 'profile', 'result', 'code', 'time', 'retries', 'waits', 'reboots', 'bytes', 'B/s', 'mac retx', 'lost']];
  for (const d of r.devices)
    rows.push([
      d.eui,
      d.type,
      d.profile,
      d.result,
      d.responseCode === undefined ? '-' : String(d.responseCode),
      d.timeMs === undefined ? '-' : formatDuration(d.timeMs),
      String(d.retries),
      String(d.waits),
      String(d.reboots),
      String(d.bytes),
      d.throughput === undefined ? '-' : d.throughput.toFixed(0),
      String(d.macRetries),
      String(d.lostFrames),
    ]);
  lines.push(...table(rows), '');
  const eff = r.efficiency === null ? 'n/a' : `${r.efficiency.toFixed(2)}×`;
  lines.push(
    `transfers: ${r.succeeded}/${r.devices.length} succeeded; measured ${r.measuredMs === null ? 'n/a' : formatDuration(r.measuredMs)}, airtime floor ${r.floorMs === null ? 'n/a' : formatDuration(r.floorMs)}, efficiency (measured ÷ floor) ${eff}`,
  );
  const x = r.radio;
  lines.push(
    `radio: ${x.frames} frames, ${x.macRetries} MAC retries, ${x.undelivered} undelivered; lost attempts ${x.lostRandom} random, ${x.lostBurst} in bursts, ${x.lostOutage} in outages; ${x.duplicates} duplicated, ${x.reordered} held back (${x.overtaken} overtaken); channel busy ${formatDuration(x.airMs)}`,
  );
  lines.push(`simulated ${formatDuration(r.simulatedMs)} in ${formatDuration(speed.wallMs)} (${Math.round(speed.framesPerSecond)} frames/s)`);
  for (const e of r.hubErrors.slice(0, 5)) lines.push(`hub error: ${e}`);
  lines.push('', 'expectations:');
  for (const e of r.expectations) lines.push(`  ${e.ok ? 'ok  ' : 'FAIL'}  ${e.what}${e.detail ? ` — ${e.detail}` : ''}`);
  lines.push(r.ok ? 'all expectations hold' : `${r.expectations.filter((e) => !e.ok).length} expectation(s) failed`);
  return lines.join('\n');
}
