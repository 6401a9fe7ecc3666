// Named device profiles for scenario files: a client's quirks and its link, as one word. Adding a profile
// is a row here (and, for a new behaviour, a field in ota-client.ts ClientQuirks).
import { ClientQuirks } from './ota-client';
import { LinkSpec } from './radio-model';

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
  'reboot-midway': { description: 'loses power once half way through a download, then starts again', quirks: { rebootAtFraction: 0.5 } },
};
