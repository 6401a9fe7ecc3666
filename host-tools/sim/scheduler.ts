// Time for the simulator, injected so tests can run it on a manual clock and the CLI on the real one.

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

/** A clock that moves only when told to: deterministic tests and faster-than-real-time runs. */
export class ManualScheduler implements Scheduler {
  private t: number;
  private timers: { id: TimerHandle; at: number; fn: () => void }[] = [];
  private next = 1;

  constructor(start = 0) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimer(ms: number, fn: () => void): TimerHandle {
    const id = this.next++;
    this.timers.push({ id, at: this.t + Math.max(0, ms), fn });
    return id;
  }

  clearTimer(h: TimerHandle): void {
    this.timers = this.timers.filter((x) => x.id !== h);
  }

  /** Runs every timer due up to now + ms, in time order (ties in the order they were set). */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let first = -1;
      for (let i = 0; i < this.timers.length; i++) if (this.timers[i].at <= end && (first < 0 || this.timers[i].at < this.timers[first].at)) first = i;
      if (first < 0) break;
      const due = this.timers.splice(first, 1)[0];
      this.t = Math.max(this.t, due.at);
      due.fn();
    }
    this.t = end;
  }
}
