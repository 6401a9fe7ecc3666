// One hub's part of a device-image campaign: put its targets in the device log, upload the image
// (resumable), start one transfer job per target, then follow jobs and alerts until every target is final:
// activate HCALCSs if the plan says so, and read versions until they are confirmed (0x8F8B).
// Every step first looks at what the hub already has, so running it again after a crash repeats nothing:
// jobs started before the crash are adopted, alerts already recorded are not counted again.
import { Alert, ALERT_VERSION_READ, Device, Job } from '../link/hub-protocol';
import { bytes } from '../format';
import { HubClient, HubError } from '../link/hub-client';
import { DeviceImageDeploy } from './campaign-plan';
import { UnitRow } from './campaign-store';
import { alertReport, isFinal, jobReport, reached, STAGE_LABELS, unconfirmedReason } from './device-stage';
import { HubWork, sleep, WorkEnd } from './hub-work';

/** Jobs and alerts are re-read this often; events only make the runner notice sooner. */
const POLL_MS = 1000;
/** Failed polls in a row before the link is opened again. */
const MAX_POLL_ERRORS = 5;
const OPEN_ATTEMPTS = 3;
const OPEN_RETRY_MS = 2000;
/** job.start attempts when the reply is lost (the job may exist: the list is checked before asking again). */
const START_ATTEMPTS = 3;

export async function deployDeviceImage(w: HubWork, d: DeviceImageDeploy): Promise<WorkEnd> {
  const worker = new DeviceImageWorker(w, d);
  try {
    return await worker.run();
  } finally {
    await worker.close();
  }
}

class DeviceImageWorker {
  private client?: HubClient;
  /** When each activated target was last asked for its version (or became activated). */
  private lastRead = new Map<string, number>();
  private activationAsked = new Map<string, number>();
  private wakeUp: (() => void) | null = null;
  /** The hub refused a job.start as FULL (logged once). */
  private full = false;

  constructor(
    private w: HubWork,
    private d: DeviceImageDeploy,
  ) {}

  private get id(): string {
    return this.w.hubId;
  }

  private units(): Promise<UnitRow[]> {
    return this.w.store.units(this.id);
  }

  async run(): Promise<WorkEnd> {
    const deadline = Date.now() + this.w.plan.hubTimeoutS * 1000;
    let c = await this.connect();
    await this.ensureDeviceLog(c);
    await this.upload(c);
    await this.startJobs(c);
    for (let errors = 0; ; ) {
      if (this.w.stopping()) return 'stopped';
      try {
        await this.startJobs(c); // targets the hub had no room for (FULL) start as earlier ones end
        await this.poll(c);
        errors = 0;
      } catch (e) {
        if (!(e instanceof HubError)) throw e;
        this.w.log(`${this.id}: ${e.message}`);
        if (++errors >= MAX_POLL_ERRORS) {
          c = await this.connect();
          errors = 0;
        }
      }
      if ((await this.units()).every((u) => isFinal(u.stage, u.goal))) {
        await this.poll(c).catch(() => undefined); // acknowledge alerts that arrived as events meanwhile
        return 'finished';
      }
      if (Date.now() > deadline) {
        await this.timedOut();
        return 'finished';
      }
      await this.nap(POLL_MS);
    }
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    await c?.close();
  }

  private async connect(): Promise<HubClient> {
    await this.close();
    for (let attempt = 1; ; attempt++) {
      try {
        const c = await this.w.links.open(this.id);
        // An event only makes the runner notice sooner: one that cannot be stored is seen again at the next poll.
        const unstored = (what: string) => (e: Error) => this.w.log(`${this.id}: storing ${what}: ${e.message}`);
        c.on('job', (j) => void this.onJob(j).catch(unstored(`job ${j.id}`)));
        c.on('alert', (a) => void this.record(a).then(() => this.wake(), unstored(`alert ${a.id}`)));
        this.client = c;
        await this.w.store.hubReached(this.id, c.info.fw);
        return c;
      } catch (e) {
        if (attempt >= OPEN_ATTEMPTS) throw new Error(`hub unreachable: ${(e as Error).message}`);
        await sleep(OPEN_RETRY_MS);
      }
    }
  }

  private async fail(eui: string, reason: string): Promise<void> {
    await this.w.store.advance(this.id, eui, { stage: 'failed', reason }, Date.now());
  }

  /** The inventory's devices are the hub's HAN: any target missing from the device log is added. */
  private async ensureDeviceLog(c: HubClient): Promise<void> {
    const listed = new Set(((await c.request('dev.list')).devices as unknown as Device[]).map((d) => d.eui));
    for (const u of await this.units()) {
      if (isFinal(u.stage, u.goal) || listed.has(u.eui)) continue;
      try {
        await c.request('dev.add', { eui: u.eui, type: u.type });
      } catch (e) {
        if (!(e instanceof HubError)) throw e;
        await this.fail(u.eui, `not in the hub's device log, and adding it was refused: ${e.message} [${e.code}]`);
      }
    }
  }

  private async upload(c: HubClient): Promise<void> {
    const waiting = (await this.units()).filter((u) => u.stage === 'requested');
    if (waiting.length === 0) return;
    const r = await c.upload(this.d.name, this.d.bytes);
    const resumed = r.resumedFrom > 0 ? `resumed at ${bytes(r.resumedFrom)}, ` : '';
    this.w.log(`${this.id}: ${this.d.name} is on the hub (${resumed}${bytes(r.sent)} sent in ${r.ms} ms)`);
    const now = Date.now();
    for (const u of waiting) await this.w.store.advance(this.id, u.eui, { stage: 'on_hub' }, now);
  }

  private async jobList(c: HubClient): Promise<Job[]> {
    return (await c.request('job.list')).jobs as unknown as Job[];
  }

  private async jobListIfAnswered(c: HubClient): Promise<Job[] | undefined> {
    try {
      return await this.jobList(c);
    } catch (e) {
      if (!(e instanceof HubError) || e.code !== 'TIMEOUT') throw e;
      this.w.log(`${this.id}: no answer to job.list; following jobs by their events and alerts until the next poll`);
      return undefined;
    }
  }

  private async adopt(eui: string, j: Job): Promise<void> {
    await this.w.store.setJob(this.id, eui, j.id);
    await this.w.store.advance(this.id, eui, jobReport(j), Date.now());
  }

  /**
   * One job per target. The hub's highest job id is recorded before the first job.start, so after a crash
   * any later job for this image and device is known to be ours and is adopted instead of started again.
   */
  private async startJobs(c: HubClient): Promise<void> {
    const todo = (await this.units()).filter((u) => u.stage === 'on_hub' && u.jobId === null);
    if (todo.length === 0) return;
    let jobs = await this.jobList(c);
    let watermark = (await this.w.store.hub(this.id)).jobWatermark;
    if (watermark === null) {
      watermark = jobs.reduce((m, j) => Math.max(m, j.id), 0);
      await this.w.store.setJobWatermark(this.id, watermark);
    }
    for (const u of todo) {
      for (let attempt = 1; ; attempt++) {
        const ours = jobs.find((j) => j.id > watermark! && j.eui === u.eui && j.image === this.d.name);
        if (ours) {
          await this.adopt(u.eui, ours);
          break;
        }
        try {
          // The hash of the bytes this campaign uploaded: the hub serves its image only if it is still those
          // (another image of the same name is refused), and boards that require a hash accept the job.
          const started = (await c.request('job.start', { image: this.d.name, sha256: this.d.sha256, devices: [u.eui] })).jobs as unknown as Job[];
          await this.adopt(u.eui, started[0]);
          break;
        } catch (e) {
          if (!(e instanceof HubError)) throw e;
          if (e.code === 'TIMEOUT' && attempt < START_ATTEMPTS) {
            jobs = await this.jobList(c);
            continue;
          }
          if (e.code === 'FULL') {
            // A small board's hub holds few transfers at once: the rest wait on the hub, not fail.
            if (!this.full) this.w.log(`${this.id}: ${e.message}; the other targets start as transfers end`);
            this.full = true;
            return;
          }
          await this.fail(u.eui, `job.start refused: ${e.message} [${e.code}]`);
          break;
        }
      }
    }
  }

  private async onJob(j: Job): Promise<void> {
    const u = (await this.units()).find((x) => x.jobId === j.id);
    if (u) await this.w.store.advance(this.id, u.eui, jobReport(j), Date.now());
  }

  /**
   * Records an alert about a target (and acts on what it says) before anything acknowledges it. Returns
   * false for an alert that is not this campaign's to take yet, which stays held on the hub: a transfer
   * alert before the device's job is known (adopted after a restart), a version read before its transfer.
   */
  private async record(a: Alert): Promise<boolean> {
    const u = (await this.units()).find((x) => x.eui === a.eui);
    const ready = u && (a.code === ALERT_VERSION_READ ? reached(u.stage, 'transferred') : u.jobId !== null);
    if (!ready) return false;
    await this.w.store.recordAlert(this.id, a, Date.now(), (target) => alertReport(a, this.d.header.fileVersion, target.stage));
    return true;
  }

  /**
   * Jobs (for progress and activation), then alerts (recorded, then acknowledged), then what the targets
   * need next. When a job list gets no answer (a lossy link), this round follows the jobs by their events
   * and alerts alone.
   */
  private async poll(c: HubClient): Promise<void> {
    const jobs = await this.jobListIfAnswered(c);
    for (const u of await this.units()) {
      const j = u.jobId === null ? undefined : jobs?.find((x) => x.id === u.jobId);
      if (j) await this.w.store.advance(this.id, u.eui, jobReport(j), Date.now());
    }
    const held = (await c.request('alert.list')).alerts as unknown as Alert[];
    const ours: number[] = [];
    for (const a of held) if (await this.record(a)) ours.push(a.id);
    if (ours.length) {
      await c.request('alert.ack', { ids: ours });
      await this.w.store.alertsAcked(this.id, ours, Date.now());
    }
    for (const u of await this.units()) {
      // SECMP0007: a PPMID runs the image as soon as it has it; the hub manages that activation.
      if (u.stage === 'transferred' && u.type === 'PPMID') await this.w.store.advance(this.id, u.eui, { stage: 'activated' }, Date.now());
      else if (u.stage === 'transferred' && u.type === 'HCALCS' && this.d.activate) await this.activate(c, u, jobs);
      else if (u.stage === 'activated') await this.confirm(c, u);
    }
  }

  /** Asks an HCALCS holding the image to run it; again after an interval if the hub refused. */
  private async activate(c: HubClient, u: UnitRow, jobs: Job[] | undefined): Promise<void> {
    const j = jobs?.find((x) => x.id === u.jobId);
    const asked = this.activationAsked.get(u.eui);
    if ((jobs && j?.state !== 'transferred') || (asked !== undefined && Date.now() - asked < this.w.plan.confirm.intervalS * 1000)) return;
    this.activationAsked.set(u.eui, Date.now());
    try {
      await c.request('activate', { eui: u.eui });
      await this.w.store.advance(this.id, u.eui, { stage: 'activated' }, Date.now());
    } catch (e) {
      if (!(e instanceof HubError)) throw e;
      this.w.log(`${this.id}: activating ${u.eui}: ${e.message} [${e.code}]; will ask again`);
    }
  }

  /**
   * Reads the version until the device reports the image's. The first read waits one interval, for the
   * device to reboot into the image; an HCALCS's hub reads it by itself after activation, often first.
   */
  private async confirm(c: HubClient, u: UnitRow): Promise<void> {
    const now = Date.now();
    const last = this.lastRead.get(u.eui);
    if (last === undefined) return void this.lastRead.set(u.eui, now);
    if (now - last < this.w.plan.confirm.intervalS * 1000) return;
    const tries = this.w.plan.confirm.tries;
    if (u.reads >= tries) return this.fail(u.eui, unconfirmedReason(await this.w.store.lastAlert(this.id, u.eui, ALERT_VERSION_READ), this.d.header.fileVersion, tries));
    await this.w.store.countRead(this.id, u.eui);
    this.lastRead.set(u.eui, now);
    try {
      await c.request('version.read', { eui: u.eui });
    } catch (e) {
      if (!(e instanceof HubError)) throw e;
      this.w.log(`${this.id}: version read of ${u.eui}: ${e.message} [${e.code}]`);
    }
  }

  private async timedOut(): Promise<void> {
    for (const u of await this.units()) {
      if (!isFinal(u.stage, u.goal)) await this.fail(u.eui, `timed out after ${this.w.plan.hubTimeoutS} s in stage ${STAGE_LABELS[u.stage]}`);
    }
  }

  private wake(): void {
    this.wakeUp?.();
  }

  private nap(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wakeUp = done;
    });
  }
}
