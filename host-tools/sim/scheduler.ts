// Time for the simulator, injected so tests can run it on a manual clock and the CLI on the real one.
import { TimeQueue } from './time-queue';

export type TimerHandle = number;

export interface Scheduler {
  now(): number;
  setTimer(ms: number, fn: () => void): TimerHandle;
  clearTimer(h: TimerHandle): void;
}

/** Wall-clock timers; `clearAll` lets a simulator shut down without leaving timers behind. */
export class RealScheduler implements Scheduler {
  private timers = new Map<TimerHandle, NodeJS.Timeout>();
  private next = 1;

  now(): number {
    return Date.now();
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const id = this.next++;
    this.timers.set(
      id,
      setTimeout(() => {
        this.timers.delete(id);
        fn();
      }, ms),
    );
    return id;
  }

  clearTimer(h: TimerHandle): void {
    clearTimeout(this.timers.get(h));
    this.timers.delete(h);
  }

  clearAll(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}

/**
 * A clock that moves only when told to: deterministic tests, and virtual-time runs that jump from one
 * event to the next (an hour of HAN traffic in seconds). Timers run in due-time order, ties in the order
 * they were set (time-queue.ts); cancelled ones are skipped when they come up.
 */
export class ManualScheduler implements Scheduler {
  private t: number;
  private queue = new TimeQueue<{ id: TimerHandle; fn: () => void }>();
  private live = new Set<TimerHandle>();
  private next = 1;

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const id = this.next++;
    this.live.add(id);
    this.queue.push(this.t + Math.max(0, ms), { id, fn });
    return id;
  }

  clearTimer(h: TimerHandle): void {
    this.live.delete(h);
  }

  /** Runs every timer due up to now + ms, in time order, and leaves the clock at now + ms. */
  advance(ms: number): void {
    const end = this.t + ms;
    this.runUntil(end);
    this.t = end;
  }

  /**
   * Runs timers in time order until none is due by `end`, or `stop()` holds after one; the clock stays at
   * the last timer run. Returns how many ran.
   */
  runUntil(end: number, stop: () => boolean = () => false): number {
    let n = 0;
    for (;;) {
      const due = this.peek();
      if (!due || due.at > end) return n;
      this.queue.pop();
      this.live.delete(due.value.id);
      this.t = Math.max(this.t, due.at);
      due.value.fn();
      n++;
      if (stop()) return n;
    }
  }

  /** The first live timer, dropping cancelled ones from the top. */
  private peek(): { at: number; value: { id: TimerHandle; fn: () => void } } | undefined {
    for (;;) {
      const top = this.queue.peek();
      if (!top || this.live.has(top.value.id)) return top;
      this.queue.pop();
    }
  }
}
