// A binary min-heap of values due at given times, ties in the order they were pushed: the virtual clock's
// timers (scheduler.ts) and the radio model's channel events (radio-model.ts) both run in this order.

interface Entry<T> {
  at: number;
  seq: number;
  value: T;
}

export class TimeQueue<T> {
  private heap: Entry<T>[] = [];
  private next = 0;

  get size(): number {
    return this.heap.length;
  }

  push(at: number, value: T): void {
    this.heap.push({ at, seq: this.next++, value });
    for (let i = this.heap.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** The earliest entry, or undefined. */
  peek(): { at: number; value: T } | undefined {
    return this.heap[0];
  }

  pop(): { at: number; value: T } | undefined {
    const top = this.heap[0];
    const last = this.heap.pop();
    if (this.heap.length === 0 || !last) return top;
    this.heap[0] = last;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.heap.length && this.before(l, m)) m = l;
      if (r < this.heap.length && this.before(r, m)) m = r;
      if (m === i) return top;
      this.swap(i, m);
      i = m;
    }
  }

  private before(a: number, b: number): boolean {
    const x = this.heap[a];
    const y = this.heap[b];
    return x.at < y.at || (x.at === y.at && x.seq < y.seq);
  }

  private swap(a: number, b: number): void {
    const x = this.heap[a];
    this.heap[a] = this.heap[b];
    this.heap[b] = x;
  }
}
