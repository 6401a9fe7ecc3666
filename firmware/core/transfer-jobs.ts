// Transfer jobs: one per (device, image) distribution, from queued to an end state that raised
// exactly one 0x8F8A or 0x8F89 alert (DESIGN "What the hub promises").
import { codedError } from './bytes';

export type JobState = 'queued' | 'transferring' | 'transferred' | 'activating' | 'done' | 'failed';

export interface Job {
  id: number;
  eui: string;
  image: string;
  manufacturerCode: number;
  imageType: number;
  fileVersion: number;
  state: JobState;
  /** Highest byte offset the device has been sent. */
  off: number;
  size: number;
  /** GBCS response code of a failed job. */
  code?: number;
  force?: boolean;
  started: number;
  updated: number;
  /** Last time the device asked for anything for this job. */
  contact: number;
}

interface Saved {
  next: number;
  jobs: Job[];
}


export function isFinal(j: Job): boolean {
  return j.state === 'done' || j.state === 'failed';
}

export class JobTable {
  private next = 1;
  private jobs: Job[] = [];
  /** keepFinished: finished jobs kept for `job.list` before the oldest are forgotten (their alerts are
   *  already raised); a job costs ~30 JsVars on a board, so small boards keep few. */
  constructor(private keepFinished: number, saved?: unknown) {
    const s = saved as Saved | undefined;
    if (s && Array.isArray(s.jobs)) {
      this.jobs = s.jobs;
      this.next = s.next;
    }
  }

  create(eui: string, image: { name: string; size: number; manufacturerCode: number; imageType: number; fileVersion: number }, force: boolean, now: number): Job {
    if (this.active(eui)) throw codedError('BUSY', 'device ' + eui + ' already has a transfer in progress');
    const j: Job = {
      id: this.next++,
      eui: eui,
      image: image.name,
      manufacturerCode: image.manufacturerCode,
      imageType: image.imageType,
      fileVersion: image.fileVersion,
      state: 'queued',
      off: 0,
      size: image.size,
      started: now,
      updated: now,
      contact: now,
    };
    if (force) j.force = true;
    this.jobs.push(j);
    this.prune();
    return j;
  }

  /** The device's job that has not finished, if any (a device runs one job at a time). */
  active(eui: string): Job | undefined {
    for (let i = this.jobs.length - 1; i >= 0; i--) if (this.jobs[i].eui === eui && !isFinal(this.jobs[i])) return this.jobs[i];
    return undefined;
  }

  /** The device's most recent job, finished or not. */
  latest(eui: string): Job | undefined {
    for (let i = this.jobs.length - 1; i >= 0; i--) if (this.jobs[i].eui === eui) return this.jobs[i];
    return undefined;
  }

  /** The device's job that holds a transferred image awaiting activation (HCALCS). */
  holding(eui: string): Job | undefined {
    const j = this.active(eui);
    return j && (j.state === 'transferred' || j.state === 'activating') ? j : undefined;
  }

  /** Jobs not finished. */
  running(): number {
    let n = 0;
    for (let i = 0; i < this.jobs.length; i++) if (!isFinal(this.jobs[i])) n++;
    return n;
  }

  /** Whether a device is still to fetch, or fetching, image `name`. */
  downloading(name: string): boolean {
    for (let i = 0; i < this.jobs.length; i++) if (this.jobs[i].image === name && (this.jobs[i].state === 'queued' || this.jobs[i].state === 'transferring')) return true;
    return false;
  }

  usesImage(name: string): boolean {
    for (let i = 0; i < this.jobs.length; i++) if (this.jobs[i].image === name && !isFinal(this.jobs[i])) return true;
    return false;
  }

  list(): Job[] {
    return this.jobs.slice();
  }

  private prune(): void {
    let finished = 0;
    for (let i = 0; i < this.jobs.length; i++) if (isFinal(this.jobs[i])) finished++;
    const keep: Job[] = [];
    for (let i = 0; i < this.jobs.length; i++) {
      if (isFinal(this.jobs[i]) && finished > this.keepFinished) finished--;
      else keep.push(this.jobs[i]);
    }
    this.jobs = keep;
  }

  save(): Saved {
    return { next: this.next, jobs: this.jobs };
  }
}
