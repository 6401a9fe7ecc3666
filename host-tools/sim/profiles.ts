// Named device profiles for scenario files: a client's quirks and its link, as one word. Adding a profile
// is a row here (and, for a new behaviour, a field in ota-client.ts ClientQuirks).
import { ClientQuirks } from './ota-client';
import { LinkSpec } from './radio-link';

export interface Profile {
  description: string;
  quirks?: Partial<ClientQuirks>;
  /** Under the device's own link settings, over the scenario's. */
  link?: Partial<LinkSpec>;
}

export const PROFILES: { [name: string]: Profile } = {
  normal: { description: 'a textbook client on the scenario link' },
  slow: { description: 'asks for a 1 s pause between blocks (minimumBlockPeriod)', quirks: { minBlockPeriodMs: 1000 } },
  'lossy-link': {
    description: '15% loss per attempt, interference bursts (~300 ms every ~20 s), some duplicates and reordering, low LQI',
    link: { loss: 0.15, burst: { everyMs: 20000, lengthMs: 300 }, duplicate: 0.02, reorder: 0.02, latencyMs: 5, lqi: 90 },
  },
  'reboot-midway': { description: 'loses power once half way through a download, then starts again from offset 0', quirks: { midway: { atFraction: 0.5, kind: 'reboot' } } },
  'repeats-requests': { description: 'sends every Image Block Request twice', quirks: { repeatRequests: true } },
  'out-of-order': { description: 'every 4th block, first asks for the block after the one it needs', quirks: { outOfOrderEvery: 4 } },
  'odd-offsets': { description: 'asks for 37-byte blocks, so no offset after 0 is a multiple of the hub\'s block size', quirks: { maxDataSizes: [37] } },
  'changing-block-size': { description: 'changes maxDataSize from one request to the next (64, 40, 17, 50)', quirks: { maxDataSizes: [64, 40, 17, 50] } },
  'goes-silent': { description: 'its stack hangs a third of the way through a download: never another frame', quirks: { midway: { atFraction: 0.3, kind: 'silent' } } },
  pauses: { description: 'stops asking for 4 minutes half way through a download, then carries on', quirks: { midway: { atFraction: 0.5, kind: 'pause', ms: 4 * 60 * 1000 } } },
  'drops-requests': { description: 'every 6th request never leaves the device; it times out and asks again', quirks: { dropEvery: 6 } },
  'rejects-image': { description: 'refuses every image it downloads: Upgrade End with INVALID_IMAGE', quirks: { rejectImage: true } },
  'stale-download': {
    description: 'on first boot resumes, without a query, a download of version 0x99 (which the hub does not hold)',
    quirks: { staleDownload: { fileVersion: 0x99, offset: 4096, size: 40960 } },
  },
  'page-requests': { description: 'pulls 512-byte pages with Image Page Requests, 20 ms response spacing', quirks: { pageRequests: { pageSize: 512, responseSpacingMs: 20 } } },
  'period-in-seconds': { description: 'reads minimumBlockPeriod as seconds, not milliseconds', quirks: { periodInSeconds: true } },
  'default-responses': { description: 'answers every hub command with a ZCL Default Response, even when the hub disabled them', quirks: { alwaysDefaultResponse: true } },
};
