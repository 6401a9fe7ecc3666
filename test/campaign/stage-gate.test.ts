// The gate after a stage and the pause rule: what lets a roll-out go on, and what stops it.
import { Gate } from '../../host-tools/campaign/campaign-plan';
import { Goal } from '../../host-tools/campaign/device-stage';
import { pauseReason, trailingFailures } from '../../host-tools/campaign/pause-rule';
import { evaluateGate, failureClass, gateSummary, stageOutcome } from '../../host-tools/campaign/stage-gate';

const gate = (g: Partial<Gate> = {}): Gate => ({ minSuccessRate: 98, maxFailures: {}, minDevices: 1, ...g });
const ok = { stage: 'confirmed' as const, goal: 'confirmed' as Goal, code: null };
const failed = (code: number | null) => ({ stage: 'failed' as const, goal: 'confirmed' as Goal, code });

test('success counts targets that reached their goal; an HCALCS left holding its image succeeds at Transferred', () => {
  const o = stageOutcome([ok, { stage: 'transferred', goal: 'transferred', code: null }, { stage: 'transferred', goal: 'confirmed', code: null }, failed(2)]);
  expect(o).toEqual({ targets: 4, succeeded: 2, failed: 1, failures: { '1': 0, '2': 1, '3': 0, other: 0 } });
});

test('failures are classed by GBCS response code; anything without one is "other"', () => {
  expect([1, 2, 3, null, undefined, 0, 7].map(failureClass)).toEqual(['1', '2', '3', 'other', 'other', 'other', 'other']);
});

test('a stage at 98% passes a 98% gate; one more failure fails it, and the summary says why', () => {
  const at98 = stageOutcome([...Array(49).fill(ok), failed(3)]);
  expect(evaluateGate(gate(), at98).passed).toBe(true);
  const below = stageOutcome([...Array(48).fill(ok), failed(3), failed(3)]);
  const r = evaluateGate(gate(), below);
  expect(r.passed).toBe(false);
  expect(r.successRate).toBe(96);
  expect(gateSummary(r)).toBe('success 96.0% (48/50) < 98%');
});

test('a limit on one response code fails the gate however good the success rate', () => {
  const o = stageOutcome([...Array(99).fill(ok), failed(2)]);
  const r = evaluateGate(gate({ maxFailures: { 2: 0, 3: 5 } }), o);
  expect(r.passed).toBe(false);
  expect(gateSummary(r)).toBe('1 failure(s) with response code 2 (Hardware Version Mismatch) > 0 allowed');
  expect(evaluateGate(gate({ maxFailures: { 2: 1 } }), o).passed).toBe(true);
});

test('too few targets prove nothing; a stage with none has nothing to judge', () => {
  expect(gateSummary(evaluateGate(gate({ minDevices: 5 }), stageOutcome([ok, ok])))).toBe('2 target(s) < 5 required');
  expect(evaluateGate(gate({ minDevices: 5 }), stageOutcome([]))).toMatchObject({ passed: true, checks: [{ rule: 'no targets in this stage: nothing to gate' }] });
});

test('the pause rule counts failures in a row at the end, and never pauses with a limit of 0', () => {
  expect(trailingFailures([true, false, false, true, false, false, false])).toBe(3);
  expect(trailingFailures([false, true])).toBe(0);
  expect(pauseReason(3, [true, false, false, false])).toBe('3 failures in a row (the plan pauses after 3)');
  expect(pauseReason(3, [false, false, true])).toBeNull();
  expect(pauseReason(0, [false, false, false, false])).toBeNull();
});
