// The gate after a stage: whether its outcome lets the campaign go on to the next stage. Pure.
import { responseCodeName } from '../format';
import { FailureClass, FAILURE_CLASSES, Gate } from './campaign-plan';
import { DeviceStage, Goal, succeeded } from './device-stage';

export interface StageOutcome {
  targets: number;
  succeeded: number;
  failed: number;
  failures: Record<FailureClass, number>;
}

export interface GateCheck {
  rule: string;
  ok: boolean;
}

export interface GateResult {
  passed: boolean;
  /** Percent of targets that reached their goal. */
  successRate: number;
  checks: GateCheck[];
}

/** GBCS response codes 1-3 are their own classes; anything else (no alert at all, say) is `other`. */
export function failureClass(code: number | null | undefined): FailureClass {
  return code === 1 || code === 2 || code === 3 ? (String(code) as FailureClass) : 'other';
}

function failureClassName(c: FailureClass): string {
  return c === 'other' ? 'other failures (hub unreachable, timeouts, activation)' : `response code ${c} (${responseCodeName(Number(c))})`;
}

export function stageOutcome(targets: { stage: DeviceStage; goal: Goal; code: number | null }[]): StageOutcome {
  const failures = Object.fromEntries(FAILURE_CLASSES.map((c) => [c, 0])) as Record<FailureClass, number>;
  let ok = 0;
  let failed = 0;
  for (const t of targets) {
    if (succeeded(t.stage, t.goal)) ok++;
    else if (t.stage === 'failed') {
      failed++;
      failures[failureClass(t.code)]++;
    }
  }
  return { targets: targets.length, succeeded: ok, failed, failures };
}

export function successRate(o: { targets: number; succeeded: number }): number {
  return o.targets === 0 ? 0 : (100 * o.succeeded) / o.targets;
}

/**
 * Each check reads true as written: "≥" when it holds, "<" when it does not. A stage left with no targets
 * (a region the pilot took every hub of) has nothing to judge and passes.
 */
export function evaluateGate(gate: Gate, o: StageOutcome): GateResult {
  if (o.targets === 0) return { passed: true, successRate: 0, checks: [{ rule: 'no targets in this stage: nothing to gate', ok: true }] };
  const rate = successRate(o);
  const enough = o.targets >= gate.minDevices;
  const rateOk = rate >= gate.minSuccessRate;
  const checks: GateCheck[] = [
    { rule: `${o.targets} target(s) ${enough ? '≥' : '<'} ${gate.minDevices} required`, ok: enough },
    { rule: `success ${rate.toFixed(1)}% (${o.succeeded}/${o.targets}) ${rateOk ? '≥' : '<'} ${gate.minSuccessRate}%`, ok: rateOk },
  ];
  for (const c of FAILURE_CLASSES) {
    const max = gate.maxFailures[c];
    if (max === undefined) continue;
    const ok = o.failures[c] <= max;
    checks.push({ rule: `${o.failures[c]} failure(s) with ${failureClassName(c)} ${ok ? '≤' : '>'} ${max} allowed`, ok });
  }
  return { passed: checks.every((c) => c.ok), successRate: rate, checks };
}

/** One line: the checks that failed, or every check of a passed gate. */
export function gateSummary(r: GateResult): string {
  return (r.passed ? r.checks : r.checks.filter((c) => !c.ok)).map((c) => c.rule).join('; ');
}
