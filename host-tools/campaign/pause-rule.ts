// The pause rule: a run of failures in a row means something is wrong with the image or the fleet, and a
// person should look before more devices are tried. Pure.

/** How many of the latest outcomes (true = succeeded), counted from the end, are failures. */
export function trailingFailures(outcomes: boolean[]): number {
  let n = 0;
  for (let i = outcomes.length - 1; i >= 0 && !outcomes[i]; i--) n++;
  return n;
}

/** Why the campaign must pause (limit 0: never), or null. */
export function pauseReason(limit: number, outcomes: boolean[]): string | null {
  const n = trailingFailures(outcomes);
  return limit > 0 && n >= limit ? `${n} failures in a row (the plan pauses after ${limit})` : null;
}
