// One hub's part of a hub-firmware campaign: the hub itself is the single target. A hub that already
// reports the plan's version is confirmed without flashing, which is also what makes a resumed run skip
// hubs flashed before a crash.
import { HubFirmwareDeploy } from './campaign-plan';
import { HubWork, WorkEnd } from './hub-work';

async function reportedVersion(w: HubWork): Promise<string> {
  const c = await w.links.open(w.hubId);
  try {
    await w.store.hubReached(w.hubId, c.info.fw);
    return c.info.fw;
  } finally {
    await c.close();
  }
}

export async function deployHubFirmware(w: HubWork, d: HubFirmwareDeploy): Promise<WorkEnd> {
  const now = () => Date.now();
  const before = await reportedVersion(w);
  if (before !== d.version) {
    if (w.stopping()) return 'stopped';
    await w.store.advance(w.hubId, '', { stage: 'transferring' }, now());
    w.log(`${w.hubId}: flashing ${d.version} over ${before}`);
    await w.flasher.flash(w.links.hub(w.hubId), d.bundle, d.version);
  }
  const after = before === d.version ? before : await reportedVersion(w);
  if (after === d.version) await w.store.advance(w.hubId, '', { stage: 'confirmed', percent: 100 }, now());
  else await w.store.advance(w.hubId, '', { stage: 'failed', reason: `the hub reports firmware ${after} after flashing, not ${d.version}` }, now());
  return 'finished';
}
