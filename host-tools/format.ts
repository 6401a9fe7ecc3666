// How `chub` shows hub data to people: hex, GBCS alert and response-code names, byte counts and
// rates, and the tables of devices, images and jobs. Every command formats through here.
import { Alert, ALERT_TRANSFER_FAILED, ALERT_TRANSFER_SUCCEEDED, ALERT_VERSION_READ, Device, ImageInfo, Job } from './link/hub-protocol';
import { hex } from '../firmware/core/bytes';

export { hex };

export const ALERT_NAMES: Record<number, string> = {
  [ALERT_TRANSFER_SUCCEEDED]: 'Firmware transfer succeeded',
  [ALERT_TRANSFER_FAILED]: 'Firmware transfer failed',
  [ALERT_VERSION_READ]: 'Firmware version read',
};

/** GBCS responseCode of 0x8F89/0x8F8A. */
export const RESPONSE_CODE_NAMES: Record<number, string> = {
  0: 'Success',
  1: 'Image Discarded',
  2: 'Hardware Version Mismatch',
  3: 'File Transfer Failure',
};

/** activationStatus of 0x8F8B. */
export const ACTIVATION_STATUS_NAMES: Record<number, string> = { 0: 'success', 1: 'failure' };

function named(names: Record<number, string>, n: number): string {
  return names[n] ?? `unknown (${n})`;
}

export function alertName(code: number): string {
  return named(ALERT_NAMES, code);
}

export function responseCodeName(code: number): string {
  return named(RESPONSE_CODE_NAMES, code);
}

export function version(v: number | undefined): string {
  return v === undefined ? '-' : hex(v, 8);
}

export function time(unixMs: number): string {
  return new Date(unixMs).toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

export function rate(bytesPerSecond: number): string {
  return `${bytes(Math.round(bytesPerSecond))}/s`;
}

/** One line per alert: id, code and name, device, and what the alert says. */
export function alertLine(a: Alert): string {
  const parts = [`#${a.id}`, hex(a.code, 4), alertName(a.code).padEnd(27), a.eui];
  if (a.fileVersion !== undefined) parts.push(`version ${version(a.fileVersion)}`);
  if (a.responseCode !== undefined) parts.push(`response ${a.responseCode} ${responseCodeName(a.responseCode)}`);
  if (a.activationStatus !== undefined) parts.push(`activation ${named(ACTIVATION_STATUS_NAMES, a.activationStatus)}`);
  parts.push(time(a.time));
  return parts.join('  ');
}

export function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

export function percent(done: number, total: number): string {
  return total > 0 ? `${Math.floor((100 * done) / total)}%` : '-';
}

export function jobTable(jobs: Job[], devices: Device[] = []): string {
  if (jobs.length === 0) return '(no jobs)';
  const type = (eui: string) => devices.find((d) => d.eui === eui)?.type ?? '?';
  return table(
    ['JOB', 'DEVICE', 'TYPE', 'IMAGE', 'VERSION', 'STATE', 'PROGRESS', 'RESULT'],
    jobs.map((j) => [
      String(j.id),
      j.eui,
      type(j.eui),
      j.image,
      version(j.fileVersion),
      j.state,
      `${percent(j.off, j.size)} ${j.off}/${j.size}`,
      j.code !== undefined ? `${j.code} ${responseCodeName(j.code)}` : '',
    ]),
  );
}

export function deviceTable(devices: Device[]): string {
  if (devices.length === 0) return '(no devices)';
  return table(
    ['DEVICE', 'TYPE', 'NWK', 'VERSION', 'HW', 'LAST SEEN'],
    devices.map((d) => [
      d.eui,
      d.type,
      d.nwk === undefined ? 'not joined' : hex(d.nwk, 4),
      version(d.fileVersion),
      d.hardwareVersion === undefined ? '-' : hex(d.hardwareVersion, 4),
      d.lastSeen === undefined ? '-' : time(d.lastSeen),
    ]),
  );
}

export function imageTable(images: ImageInfo[]): string {
  if (images.length === 0) return '(no images)';
  return table(
    ['IMAGE', 'SIZE', 'CRC-32', 'MANUFACTURER', 'TYPE', 'VERSION', 'HW', 'STATE'],
    images.map((m) => [
      m.name,
      String(m.size),
      hex(m.crc, 8),
      m.manufacturerCode === undefined ? '-' : hex(m.manufacturerCode, 4),
      m.imageType === undefined ? '-' : hex(m.imageType, 4),
      version(m.fileVersion),
      m.minHw === undefined || m.maxHw === undefined ? 'any' : `${hex(m.minHw, 4)}-${hex(m.maxHw, 4)}`,
      m.streamed ? 'streamed (from the host)' : m.complete ? 'complete' : `uploading ${percent(m.next, m.size)}`,
    ]),
  );
}

export function printJson(v: unknown): void {
  process.stdout.write(JSON.stringify(v, (_k, x) => (x instanceof Uint8Array ? Buffer.from(x).toString('hex') : x)) + '\n');
}
