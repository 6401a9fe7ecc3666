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

/**
 * A clock that moves only when told to: deterministic tests, and virtual-time runs that jump from one
 * event to the next (an hour of HAN traffic in seconds). Timers sit in a binary heap ordered by due time,
 * ties in the order they were set; cancelled ones are skipped when they come up.
 */
export class ManualScheduler implements Scheduler {
  private t: number;
  private heap: { id: TimerHandle; at: number; fn: () => void }[] = [];
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
    this.push({ id, at: this.t + Math.max(0, ms), fn });
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
      this.pop();
      this.live.delete(due.id);
      this.t = Math.max(this.t, due.at);
      due.fn();
      n++;
      if (stop()) return n;
    }
  }

  /** The first live timer, dropping cancelled ones from the top. */
  private peek(): { id: TimerHandle; at: number; fn: () => void } | undefined {
    while (this.heap.length > 0 && !this.live.has(this.heap[0].id)) this.pop();
    return this.heap[0];
  }

  private before(a: number, b: number): boolean {
    const x = this.heap[a];
    const y = this.heap[b];
    return x.at < y.at || (x.at === y.at && x.id < y.id);
  }

  private swap(a: number, b: number): void {
    const x = this.heap[a];
    this.heap[a] = this.heap[b];
    this.heap[b] = x;
  }

  private push(e: { id: TimerHandle; at: number; fn: () => void }): void {
    this.heap.push(e);
    for (let i = this.heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  private pop(): void {
    const last = this.heap.pop();
    if (this.heap.length === 0 || !last) return;
    this.heap[0] = last;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.heap.length && this.before(l, m)) m = l;
      if (r < this.heap.length && this.before(r, m)) m = r;
      if (m === i) return;
      this.swap(i, m);
      i = m;
    }
  }
}
