// Tracking one target: stages only advance, and what jobs and GBCS alerts say moves them.
import { Alert, Job } from '../../host-tools/link/hub-protocol';
import { alertReport, isFinal, jobReport, stagesEntered, unconfirmedReason } from '../../host-tools/campaign/device-stage';

const job = (j: Partial<Job>): Job => ({ id: 1, eui: '000D6F0000000001', image: 'fw', manufacturerCode: 0x1234, imageType: 1, fileVersion: 2, state: 'queued', off: 0, size: 1000, started: 0, updated: 0, ...j });
const alert = (a: Partial<Alert>): Alert => ({ id: 1, code: 0x8f8a, eui: '000D6F0000000001', time: 0, ...a });

test('a report later on the success path enters every stage up to it; a late or repeated one enters none', () => {
  expect(stagesEntered('on_hub', 'activated')).toEqual(['transferring', 'transferred', 'activated']);
  expect(stagesEntered('transferred', 'transferring')).toEqual([]);
  expect(stagesEntered('transferred', 'transferred')).toEqual([]);
});

test('a failure ends a target wherever it is, and nothing moves it after that', () => {
  expect(stagesEntered('on_hub', 'failed')).toEqual(['failed']);
  expect(stagesEntered('failed', 'confirmed')).toEqual([]);
});

test('a target is final when failed or at its goal', () => {
  expect(isFinal('transferred', 'transferred')).toBe(true);
  expect(isFinal('transferred', 'confirmed')).toBe(false);
  expect(isFinal('failed', 'confirmed')).toBe(true);
});

test('job states map to stages, with the transfer percentage and the failure code', () => {
  expect(jobReport(job({ state: 'transferring', off: 250 }))).toEqual({ stage: 'transferring', percent: 25 });
  expect(jobReport(job({ state: 'done', off: 1000 }))).toEqual({ stage: 'activated', percent: 100 });
  expect(jobReport(job({ state: 'failed', code: 2 }))).toMatchObject({ stage: 'failed', code: 2, reason: '0x8F89 response 2 Hardware Version Mismatch' });
});

test('0x8F8A and 0x8F89 of the campaign image move a target; of another image they say nothing', () => {
  expect(alertReport(alert({ code: 0x8f8a, fileVersion: 2, responseCode: 0 }), 2, 'transferring')).toEqual({ stage: 'transferred', percent: 100 });
  expect(alertReport(alert({ code: 0x8f89, fileVersion: 2, responseCode: 3 }), 2, 'transferring')).toMatchObject({ stage: 'failed', code: 3 });
  expect(alertReport(alert({ code: 0x8f8a, fileVersion: 7, responseCode: 0 }), 2, 'transferring')).toBeNull();
});

test('0x8F8B confirms only the expected version, once the target has its image', () => {
  expect(alertReport(alert({ code: 0x8f8b, fileVersion: 2, activationStatus: 0 }), 2, 'activated')).toEqual({ stage: 'confirmed', version: 2 });
  expect(alertReport(alert({ code: 0x8f8b, fileVersion: 1, activationStatus: 0 }), 2, 'activated')).toBeNull();
  expect(alertReport(alert({ code: 0x8f8b, fileVersion: 2, activationStatus: 0 }), 2, 'on_hub')).toBeNull();
});

test('a version never confirmed is explained by the last answer', () => {
  expect(unconfirmedReason(alert({ code: 0x8f8b, fileVersion: 1, activationStatus: 1 }), 2, 3)).toBe('version not confirmed after 3 read(s): runs 0x00000001, activation failed (expected 0x00000002)');
  expect(unconfirmedReason(alert({ code: 0x8f8b, activationStatus: 1 }), 2, 3)).toBe('version not confirmed after 3 read(s): the device did not answer (expected 0x00000002)');
});
