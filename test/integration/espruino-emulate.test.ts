// `chub emulate --espruino`: the compiled bundle on the Linux Espruino interpreter booted from Storage, driven through its host-link pty like a real board, with the built-in
// simulator on its radio UART. A short distribution: a small image to one PPMID. This tests the plumbing,
// so it runs the growing-memory build; memory on a 2500-JsVar board is test/espruino's business.
import { Alert } from '../../firmware/core/alert-queue';
import { HubClient } from '../../host-tools/link/hub-client';
import { Emulation, haveInterpreter, startEmulate } from '../helpers/chub-emulate';
import { collect } from '../helpers/hub-bench';
import { makeImage } from '../helpers/images';

const PPMID = '000D6F0000000001';
const NEW = 0x00000002;
const IMAGE = makeImage({ fileVersion: NEW, size: 4 * 1024 });
const run = haveInterpreter('chub emulate --espruino') ? describe : describe.skip;

run('chub emulate --espruino', () => {
  let emu: Emulation;
  let hub: HubClient;
  beforeAll(async () => {
    emu = await startEmulate(['--espruino', '--sim-device', `PPMID:${PPMID}`, '--time-scale', '0.05']);
    hub = await HubClient.open(emu.port);
  }, 90000);
  afterAll(async () => {
    await hub?.close();
    await emu?.stop();
  });

  it('prints the host link, radio and console ports', () => {
    expect(emu.console).toMatch(/console/);
    expect(hub.info).toMatchObject({ board: 'linux', mode: 'stored' });
  });

  it('distributes a small image to a PPMID', async () => {
    await hub.request('dev.add', { eui: PPMID, type: 'PPMID' });
    const up = await hub.upload('fw-v2', IMAGE);
    expect(up.image).toMatchObject({ name: 'fw-v2', complete: true, size: IMAGE.length, fileVersion: NEW });
    const done = collect<Alert>(hub, 'alert', (a) => a.code === 0x8f8a && a.eui === PPMID, 1, 60000, 'the 0x8F8A alert');
    await hub.request('job.start', { image: 'fw-v2', devices: [PPMID] });
    const [alert] = await done;
    expect(alert).toMatchObject({ fileVersion: NEW, responseCode: 0 });
  }, 90000);
});
