// `chub emulate --silence-timeout`: a device whose stack hangs mid-download fails after the timeout given,
// with the GBCS alert 0x8F89 (response code 3, File Transfer Failure), not after the default 10 minutes. On
// the Node hub (its HubConfig) and on the bundle on the Espruino interpreter (the board's chub.json).
import { Alert } from '../../host-tools/link/hub-protocol';
import { HubClient } from '../../host-tools/link/hub-client';
import { parseDeviceSpec } from '../../host-tools/sim/device-spec';
import { startSimulator, StartedSimulator } from '../../host-tools/sim/han-simulator';
import { Emulation, haveInterpreter, startEmulate } from '../helpers/chub-emulate';
import { collect } from '../helpers/hub-bench';
import { makeImage } from '../helpers/images';

const PPMID = '000D6F0000000001';
const SILENCE_S = 2;

describe.each([
  // The interpreter runs the hub far slower than Node: a smaller image, and slower simulated devices.
  { name: 'Node', args: [] as string[], timeScale: 0.05, imageBytes: 16 * 1024, runs: () => true },
  { name: 'Espruino', args: ['--espruino'], timeScale: 0.25, imageBytes: 8 * 1024, runs: () => haveInterpreter('silence timeout on the Espruino hub') },
])('chub emulate --silence-timeout on the $name hub', ({ args, timeScale, imageBytes, runs }) => {
  const run = runs() ? test : test.skip;
  let sim: StartedSimulator | undefined;
  let emu: Emulation | undefined;
  let hub: HubClient | undefined;
  afterAll(async () => {
    await hub?.close();
    await emu?.stop();
    await sim?.close();
  });

  run(`a device that stops asking fails after ${SILENCE_S} s: 0x8F89, response code 3, and the hub logs it silent`, async () => {
    // Its stack hangs a third of the way through the download: never another frame.
    sim = await startSimulator({ devices: [{ ...parseDeviceSpec(`PPMID:${PPMID}`, 0), quirks: { midway: { atFraction: 0.3, kind: 'silent' } } }], timeScale });
    emu = await startEmulate([...args, '--radio', sim.radioPath, '--silence-timeout', String(SILENCE_S)], 90000);
    hub = await HubClient.open(emu.port);
    await hub.request('dev.add', { eui: PPMID, type: 'PPMID' });
    await hub.upload('fw-v2', makeImage({ fileVersion: 2, size: imageBytes }));

    const silent = collect<{ msg: string }>(hub, 'log', (l) => l.msg.includes(`device ${PPMID} silent for`), 1, 60000, 'the hub to log the device silent');
    const failed = collect<Alert>(hub, 'alert', (a) => a.code === 0x8f89 && a.eui === PPMID, 1, 60000, 'a 0x8F89 alert for the silent device');
    await hub.request('job.start', { image: 'fw-v2', devices: [PPMID] });
    const [alert] = await failed;
    expect(alert).toMatchObject({ fileVersion: 2, responseCode: 3 });
    const [log] = await silent;
    // The hub waited the timeout given (whole seconds, rounded), not its default 600 s.
    const waited = Number(/silent for (\d+) s/.exec(log.msg)![1]);
    expect(waited).toBeGreaterThanOrEqual(SILENCE_S);
    expect(waited).toBeLessThan(60);
    expect(sim.sim.devices()[0]).toMatchObject({ state: 'downloading', fileVersion: 1 });
  }, 120000);
});
