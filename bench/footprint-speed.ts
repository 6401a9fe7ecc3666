// make bench's footprint, the speed side: Image Block Responses the bundle serves, in one fixed scenario so
// a slower per-block path shows: the linux board's bundle (stored images) on the 64-bit `espruino` build,
// one simulated client at a time pulling a stored 6 KB image in 64-byte blocks as fast as it can (HAN
// simulator, no loss, no pacing, radio delays × 0.001); three clients one after the other.
//   blocksPerSecond: wall clock, first block to last, the median client. On the Linux interpreter this is
//     bounded by how often it polls its serial ports (each block takes about two polls), not by the hub.
//   blocksPerCpuSecond: the same blocks ÷ the interpreter's CPU time from each client's first block to its
//     last (/proc/<pid>/stat utime+stime, less what it uses idle): the per-block path's cost, which is what
//     a slower path would change, and little moved by other work on the machine.
// Not espruino-2500: on the Linux builds Storage.read copies a file into RAM (a board maps it), so img.end's
// whole-image check of an 8 KB stored image runs espruino-2500 out of JsVars; the growing build measures the
// per-block path without that artefact (and without GC pressure near the 2,500).
import * as fs from 'fs';
import { EspruinoTools } from '../test/helpers/espruino';
import { ack, registerAll, simDevices, sleep, startHubRun, startJob, transferred } from './footprint-harness';

const IMAGE_BYTES = 6 * 1024;
const BLOCK = 64;
const RUNS = 3;
const TIME_SCALE = 0.001;
const IDLE_SAMPLE_MS = 2000;

export interface BlocksPerSecond {
  what: string;
  interpreter: string;
  board: string;
  imageBytes: number;
  blockBytes: number;
  /** Each client's blocks ÷ seconds from its first block to its last (wall clock). */
  runs: number[];
  blocksPerSecond: number;
  /** All clients' blocks ÷ the interpreter's CPU seconds while they were served, less its idle use. */
  blocksPerCpuSecond: number;
  cpuMsPerBlock: number;
  /** The interpreter's CPU use while the hub is idle (ticking), in ms per second. */
  idleCpuMsPerSecond: number;
}

/** CPU seconds (user + system) process `pid` has used: /proc/<pid>/stat fields 14 and 15, in clock ticks. */
function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
}

export async function blocksPerSecond(tools: EspruinoTools, board: string, bundle: Uint8Array, log: (l: string) => void): Promise<BlocksPerSecond> {
  const devices = simDevices(RUNS, () => ({ maxDataSize: BLOCK }));
  const t0 = Date.now();
  const r = await startHubRun({
    label: `${board}: blocks per second`,
    tools,
    binary: tools.big,
    bundle,
    timeScale: TIME_SCALE,
    // A block not answered within ~3 s of real time is asked for again.
    timing: { responseTimeoutMs: 3000 / TIME_SCALE, maxRetries: 5 },
  });
  try {
    await registerAll(r, devices, IMAGE_BYTES, 'stored');
    const pid = r.board.proc.pid!;
    const idle = await r.step('the interpreter\'s idle CPU use', async () => {
      const c0 = cpuSeconds(pid);
      await sleep(IDLE_SAMPLE_MS);
      return (cpuSeconds(pid) - c0) / (IDLE_SAMPLE_MS / 1000);
    });
    // Per client: [wall ms, CPU s] at its first and its latest block.
    const marks = new Map<string, { first: [number, number]; last: [number, number]; blocks: number }>();
    r.sim.on('client', (eui, e) => {
      if (e.kind !== 'block') return;
      const now: [number, number] = [performance.now(), cpuSeconds(pid)];
      const m = marks.get(eui);
      if (m) {
        m.last = now;
        m.blocks++;
      } else marks.set(eui, { first: now, last: now, blocks: 1 });
    });
    const runs: number[] = [];
    let blocks = 0;
    let cpu = 0;
    for (const d of devices) {
      await startJob(r, [d.eui]);
      await transferred(r, [d.eui]);
      await ack(r, [d.eui]); // the linux board holds 2 alerts
      const m = marks.get(d.eui);
      if (!m || m.blocks < 2) throw new Error(`${board}: blocks per second: ${d.eui} got ${m?.blocks ?? 0} blocks`);
      const wall = (m.last[0] - m.first[0]) / 1000;
      runs.push((m.blocks - 1) / wall);
      blocks += m.blocks - 1;
      cpu += m.last[1] - m.first[1] - idle * wall;
    }
    const sorted = [...runs].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    const round = (n: number) => Math.round(n * 10) / 10;
    return {
      what:
        `Image Block Responses served: one simulated client at a time pulls a stored ${IMAGE_BYTES / 1024} KB image in ${BLOCK}-byte blocks with no loss and no pacing (radio delays × ${TIME_SCALE}), ${RUNS} clients; ` +
        'blocksPerSecond = wall clock, first block to last, median client (bounded by the Linux interpreter polling its serial ports, about two polls a block); ' +
        'blocksPerCpuSecond = blocks ÷ the interpreter\'s CPU seconds over the same spans less its idle use (/proc utime+stime, 10 ms ticks): the per-block path\'s cost',
      interpreter: 'espruino (64-bit, growing JsVar store; native)',
      board,
      imageBytes: IMAGE_BYTES,
      blockBytes: BLOCK,
      runs: runs.map(round),
      blocksPerSecond: round(median),
      blocksPerCpuSecond: round(blocks / cpu),
      cpuMsPerBlock: Math.round((cpu / blocks) * 10000) / 10,
      idleCpuMsPerSecond: Math.round(idle * 1000),
    };
  } finally {
    await r.stop();
    log(`footprint: ${board}: blocks per second: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
}
