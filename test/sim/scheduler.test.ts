import { ManualScheduler } from '../../host-tools/sim/scheduler';

describe('ManualScheduler (virtual clock)', () => {
  test('runs timers in time order, ties in the order they were set, skipping cancelled ones', () => {
    const s = new ManualScheduler();
    const ran: string[] = [];
    s.setTimer(20, () => ran.push('c'));
    s.setTimer(10, () => ran.push('a'));
    const gone = s.setTimer(15, () => ran.push('cancelled'));
    s.setTimer(10, () => ran.push('b'));
    s.clearTimer(gone);
    s.advance(25);
    expect(ran).toEqual(['a', 'b', 'c']);
    expect(s.now()).toBe(25);
  });

  test('timers set while running are run if due; runUntil jumps to each event and stops when asked', () => {
    const s = new ManualScheduler();
    const times: number[] = [];
    const tick = () => {
      times.push(s.now());
      s.setTimer(1000, tick);
    };
    s.setTimer(1000, tick);
    const n = s.runUntil(3600 * 1000, () => times.length === 5);
    expect(n).toBe(5);
    expect(times).toEqual([1000, 2000, 3000, 4000, 5000]);
    expect(s.now()).toBe(5000); // the clock stays at the last event, not at the limit
  });

  test('a million timers all run, in time order (their speed is measured by make bench, not here)', () => {
    const s = new ManualScheduler();
    let n = 0;
    for (let i = 0; i < 1000; i++) s.setTimer(i, function again() {
      if (++n < 1e6) s.setTimer(1 + (n % 7), again);
    });
    let last = 0;
    let backwards = 0;
    s.runUntil(Infinity, () => {
      if (s.now() < last) backwards++;
      last = s.now();
      return n >= 1e6;
    });
    expect(n).toBe(1e6);
    expect(backwards).toBe(0);
  });
});
