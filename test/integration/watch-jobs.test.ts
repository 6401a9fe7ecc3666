// What `chub distribute --wait` and `chub monitor --until-done` end with: the last state of each job, even
// when a job.list reply built before the job ended is read after the event saying it ended. (Both arrive in
// one read from the port; the event is emitted at once, the reply resumes its poll a microtask later. CI
// caught `distribute --wait` reporting a finished transfer as still transferring this way, exit 1.)
import { EventEmitter } from 'events';
import { watchJobs } from '../../host-tools/commands/monitor';
import { HubClient } from '../../host-tools/link/hub-client';
import { Job } from '../../host-tools/link/hub-protocol';

const job = (state: Job['state'], off: number, updated: number): Job => ({
  id: 7,
  eui: '000D6F00000000B1',
  image: 'fw',
  manufacturerCode: 0x1234,
  imageType: 1,
  fileVersion: 2,
  state,
  off,
  size: 8192,
  started: 1000,
  updated,
});

/** A hub that answers requests with `answer`. */
class FakeHub extends EventEmitter {
  constructor(private answer: (op: string) => Promise<Record<string, unknown>>) {
    super();
  }
  request(op: string): Promise<Record<string, unknown>> {
    return this.answer(op);
  }
}

test('a job.list reply older than the event that ended the job does not bring it back to transferring', async () => {
  const hub: FakeHub = new FakeHub((op) => {
    if (op === 'dev.list') return Promise.resolve({ devices: [] });
    // The reply was built just before the Upgrade End Request; the event saying the job is done follows it in the same read.
    const reply = Promise.resolve({ jobs: [job('transferring', 8192, 14000)] });
    hub.emit('job', job('done', 8192, 14100));
    return reply;
  });
  const jobs = await watchJobs(hub as unknown as HubClient, { ids: [7], untilDone: true, mode: 'quiet' });
  expect(jobs).toEqual([expect.objectContaining({ id: 7, state: 'done', off: 8192, updated: 14100 })]);
});

test('an older report of a job in progress does not replace a newer one (what Ctrl-C shows)', async () => {
  const hub: FakeHub = new FakeHub(async (op) => (op === 'dev.list' ? { devices: [] } : { jobs: [job('transferring', 1024, 2000)] }));
  let ctrlC: () => void = () => undefined;
  const stop = new Promise<void>((r) => (ctrlC = r));
  const watching = watchJobs(hub as unknown as HubClient, { ids: [7], untilDone: true, mode: 'quiet', stop });
  await new Promise((r) => setImmediate(r));
  hub.emit('job', job('transferring', 6144, 9000));
  hub.emit('job', job('transferring', 2048, 3000)); // stale: built before the report above
  ctrlC();
  expect(await watching).toEqual([expect.objectContaining({ state: 'transferring', off: 6144, updated: 9000 })]);
});
