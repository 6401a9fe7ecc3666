// Where one target of a campaign is: the tracking stages of the issue, in order, and the rules that move a
// target forward from what its hub reports (jobs and GBCS alerts). Stages only ever advance, so a late or
// repeated report (an event and a poll of the same job, an alert seen again after a restart) changes nothing.
import { Alert, ALERT_TRANSFER_FAILED, ALERT_TRANSFER_SUCCEEDED, ALERT_VERSION_READ, Job } from '../link/hub-protocol';
import { responseCodeName, version } from '../format';

/** pending: its hub's stage has not started. The success path runs up to the target's goal; failed ends it anywhere. */
export const DEVICE_STAGES = ['pending', 'requested', 'on_hub', 'transferring', 'transferred', 'activated', 'confirmed', 'failed'] as const;
export type DeviceStage = (typeof DEVICE_STAGES)[number];

export const STAGE_LABELS: Record<DeviceStage, string> = {
  pending: 'Pending',
  requested: 'Requested',
  on_hub: 'On hub',
  transferring: 'HAN transfer',
  transferred: 'Transferred',
  activated: 'Activated',
  confirmed: 'Version confirmed',
  failed: 'Failed',
};

/** The stage a target aims for: Version confirmed, or Transferred for an HCALCS left holding its image. */
export type Goal = 'confirmed' | 'transferred';

const rank = (s: DeviceStage) => DEVICE_STAGES.indexOf(s);

/** Whether a target at `stage` has got as far as `than` (a failed one has gone as far as it will). */
export function reached(stage: DeviceStage, than: DeviceStage): boolean {
  return rank(stage) >= rank(than);
}

export function isFinal(stage: DeviceStage, goal: Goal): boolean {
  return reached(stage, goal);
}

export function succeeded(stage: DeviceStage, goal: Goal): boolean {
  return stage !== 'failed' && reached(stage, goal);
}

/**
 * The stages entered when a target at `from` is reported at `to`: none if that is not a step forward,
 * otherwise `to` with the success-path stages it implies (a job seen first as done was also transferred).
 */
export function stagesEntered(from: DeviceStage, to: DeviceStage): DeviceStage[] {
  if (from === 'failed' || rank(to) <= rank(from)) return [];
  if (to === 'failed') return ['failed'];
  return DEVICE_STAGES.slice(rank(from) + 1, rank(to) + 1);
}

/** What a hub's report says about a target. */
export interface Report {
  stage: DeviceStage;
  percent?: number;
  /** GBCS response code of a failure. */
  code?: number;
  reason?: string;
  /** A firmware version the device was seen running. */
  version?: number;
}

function failureReason(code: number): string {
  return `0x8F89 response ${code} ${responseCodeName(code)}`;
}

/** A transfer job of the campaign's image, as a report. */
export function jobReport(j: Job): Report {
  const percent = j.size > 0 ? Math.floor((100 * j.off) / j.size) : 0;
  switch (j.state) {
    case 'queued':
      return { stage: 'on_hub', percent: 0 };
    case 'transferring':
      return { stage: 'transferring', percent };
    case 'transferred':
      return { stage: 'transferred', percent: 100 };
    case 'activating':
    case 'done':
      // A PPMID's job is done once transferred: the hub told it to run the image at once.
      return { stage: 'activated', percent: 100 };
    case 'failed':
      return { stage: 'failed', percent, code: j.code, reason: j.code === undefined ? 'transfer job failed' : failureReason(j.code) };
  }
}

/**
 * A GBCS alert about a target as a report, or null if it says nothing about this campaign.
 * 0x8F8B confirms only the expected version; any other answer is left to the version-read retries.
 */
export function alertReport(a: Alert, expectedVersion: number, stage: DeviceStage): Report | null {
  if (a.code === ALERT_TRANSFER_SUCCEEDED && a.fileVersion === expectedVersion) return { stage: 'transferred', percent: 100 };
  if (a.code === ALERT_TRANSFER_FAILED && (a.fileVersion === undefined || a.fileVersion === expectedVersion)) {
    const code = a.responseCode ?? 3;
    return { stage: 'failed', code, reason: failureReason(code) };
  }
  const awaitingVersion = stage === 'transferred' || stage === 'activated';
  if (a.code === ALERT_VERSION_READ && awaitingVersion && a.fileVersion === expectedVersion && a.activationStatus === 0)
    return { stage: 'confirmed', version: a.fileVersion };
  return null;
}

/** Why the last version read did not confirm, for the failure recorded once the reads run out. */
export function unconfirmedReason(last: Alert | undefined, expectedVersion: number, tries: number): string {
  const want = `expected ${version(expectedVersion)}`;
  if (!last) return `version not confirmed after ${tries} read(s): no answer (${want})`;
  if (last.fileVersion === undefined) return `version not confirmed after ${tries} read(s): the device did not answer (${want})`;
  const activation = last.activationStatus === 1 ? ', activation failed' : '';
  return `version not confirmed after ${tries} read(s): runs ${version(last.fileVersion)}${activation} (${want})`;
}
