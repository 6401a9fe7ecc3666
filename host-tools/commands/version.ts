// `chub version`: read a device's running firmware version over the HAN (CS08 → alert 0x8F8B).
import { Command } from 'commander';
import { Alert, ALERT_VERSION_READ, Job } from '../link/hub-protocol';
import { ACTIVATION_STATUS_NAMES, printJson, version } from '../format';
import { HubClient } from '../link/hub-client';
import { UsageError, withHub, withPort } from '../link/port-option';
import { euiArg } from './devices';

/** How often the held alerts are checked too, in case the event frame was lost. */
const POLL_MS = 1000;

export interface VersionRead {
  alert: Alert;
  /** A transferred image the device holds but does not run yet (HCALCS before activation). */
  holding?: Job;
}

/** Asks for the version and resolves with the device's 0x8F8B alert, acknowledged. */
export async function readVersion(hub: HubClient, eui: string, timeoutMs: number): Promise<VersionRead> {
  const isOurs = (a: Alert) => a.code === ALERT_VERSION_READ && a.eui === eui;
  const before = new Set(((await hub.request('alert.list')).alerts as unknown as Alert[]).filter(isOurs).map((a) => a.id));
  const fresh = (a: Alert) => isOurs(a) && !before.has(a.id);
  let onAlert: (a: Alert) => void = () => undefined;
  let poll: NodeJS.Timeout | undefined;
  let deadline: NodeJS.Timeout | undefined;
  try {
    const answered = new Promise<Alert>((resolve, reject) => {
      onAlert = (a) => fresh(a) && resolve(a);
      hub.on('alert', onAlert);
      poll = setInterval(() => {
        hub.request('alert.list').then((r) => {
          const a = (r.alerts as unknown as Alert[]).find(fresh);
          if (a) resolve(a);
        }, reject);
      }, POLL_MS);
      deadline = setTimeout(() => reject(new Error(`no version read alert (0x8F8B) for ${eui} within ${timeoutMs / 1000} s`)), timeoutMs);
    });
    await hub.request('version.read', { eui });
    const alert = await answered;
    await hub.request('alert.ack', { ids: [alert.id] });
    const jobs = (await hub.request('job.list')).jobs as unknown as Job[];
    const holding = jobs.find((j) => j.eui === eui && (j.state === 'transferred' || j.state === 'activating'));
    return { alert, holding };
  } finally {
    hub.off('alert', onAlert);
    clearInterval(poll);
    clearTimeout(deadline);
  }
}

export function register(program: Command): void {
  withPort(program.command('version'))
    .description("read a device's running firmware version (alert 0x8F8B), then acknowledge that alert")
    .requiredOption('-d, --device <eui>', 'the device to ask')
    .option('--timeout <seconds>', 'how long to wait for the answer', '20')
    .option('--json', 'print {eui, fileVersion, activationStatus, holding} as JSON')
    .addHelpText('after', '\nExample:\n  $ chub version --device 000D6F0000000001 --timeout 30')
    .action(async (opts) => {
      const eui = euiArg(opts.device);
      const seconds = Number(opts.timeout);
      if (!(seconds > 0)) throw new UsageError(`--timeout: want a positive number of seconds, not "${opts.timeout}"`);
      await withHub(opts, async (hub) => {
        const { alert, holding } = await readVersion(hub, eui, seconds * 1000);
        // A device that did not answer is a failed read; a pending or failed activation is news, not an error.
        if (alert.fileVersion === undefined) process.exitCode = 1;
        if (opts.json) {
          return printJson({ eui, fileVersion: alert.fileVersion, activationStatus: alert.activationStatus, holding: holding ? { image: holding.image, fileVersion: holding.fileVersion, state: holding.state } : undefined });
        }
        const status = ACTIVATION_STATUS_NAMES[alert.activationStatus ?? 1];
        if (alert.fileVersion === undefined) console.log(`${eui}: no answer from the device (activation status ${status})`);
        else console.log(`${eui}: running ${version(alert.fileVersion)} (activation status ${status})`);
        if (holding) console.log(`${eui}: holds ${holding.image} ${version(holding.fileVersion)}, ${holding.state === 'transferred' ? 'waiting for chub activate' : 'activating'}`);
      });
    });
}
