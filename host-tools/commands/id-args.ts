// Record ids on the command line (`chub alerts ack 3 4`, `chub jobs cancel #7`), as the lists print them.
import { UsageError } from '../link/port-option';

/** The numbers in `ids` ("3" or "#3"), each at least `min`; a usage error naming the first that is not one. */
export function idArgs(ids: string[], what: 'alert' | 'job', min: number): number[] {
  return ids.map((s) => {
    const n = Number(s.replace(/^#/, ''));
    if (!Number.isInteger(n) || n < min) throw new UsageError(`not ${what === 'alert' ? 'an alert' : 'a job'} id: "${s}" (want a number as listed by chub ${what}s)`);
    return n;
  });
}
