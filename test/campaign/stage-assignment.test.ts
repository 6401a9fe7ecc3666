// Which hubs a campaign targets and which stage takes each: named test hubs, a pilot per variant spread
// over regions, then the rest by region.
import { Plan, StagePlan } from '../../host-tools/campaign/campaign-plan';
import { Fleet, FleetHub } from '../../host-tools/campaign/fleet-inventory';
import { assignStages, targetHubs } from '../../host-tools/campaign/stage-assignment';

const gate = { minSuccessRate: 98, maxFailures: {}, minDevices: 1 };
let n = 0;
function hub(id: string, variant: string, region: string, types: ('PPMID' | 'HCALCS')[] = ['PPMID', 'HCALCS']): FleetHub {
  return { id, port: 'emulated', board: 'node', variant, region, devices: types.map((type) => ({ eui: (++n).toString(16).padStart(16, '0').toUpperCase(), type })) };
}
const fleet: Fleet = {
  file: 'fleet.yaml',
  timeScale: 1,
  hubs: [
    hub('lab-a', 'A', 'Lab'),
    hub('a-n1', 'A', 'North'),
    hub('a-n2', 'A', 'North'),
    hub('a-c1', 'A', 'Central'),
    hub('a-s1', 'A', 'South'),
    hub('b-n1', 'B', 'North'),
    hub('b-c1', 'B', 'Central'),
    hub('b-c2', 'B', 'Central'),
    hub('b-s1', 'B', 'South', ['HCALCS']),
  ],
};
function plan(stages: Partial<StagePlan>[], p: Partial<Plan> = {}): Plan {
  return {
    deploy: { kind: 'device-image', deviceTypes: ['PPMID', 'HCALCS'], activate: false },
    target: {},
    stages: stages.map((s) => ({ name: s.kind!, gate, ...s })),
    ...p,
  } as Plan;
}
const assign = (p: Plan) => assignStages(targetHubs(p, fleet), p.stages);

test('validate takes the named hubs, the pilot one hub per variant in different regions, mass the rest', () => {
  const p = plan([{ kind: 'validate', hubs: ['lab-a'] }, { kind: 'pilot', perVariant: { count: 1 } }, { kind: 'mass' }]);
  expect(assign(p)).toEqual({
    stages: [['lab-a'], ['a-n1', 'b-c1'], ['a-n2', 'a-c1', 'a-s1', 'b-n1', 'b-c2', 'b-s1']],
    unassigned: [],
  });
});

test('a pilot percentage is of each variant, rounded up, and spreads over regions', () => {
  const p = plan([{ kind: 'pilot', perVariant: { percent: 50 } }, { kind: 'mass' }]);
  // A has 5 hubs (lab included): 3; B has 4: 2.
  expect(assign(p).stages[0]).toEqual(['lab-a', 'a-n1', 'a-c1', 'b-s1', 'b-n1']);
});

test('mass stages by region take what earlier stages left; a region no stage names stays unassigned', () => {
  const p = plan([{ kind: 'pilot', perVariant: { count: 1 }, regions: ['North'] }, { kind: 'mass', regions: ['North'] }, { kind: 'mass', name: 'mass-south', regions: ['South'] }]);
  expect(assign(p)).toEqual({ stages: [['a-n1', 'b-n1'], ['a-n2'], ['a-s1', 'b-s1']], unassigned: ['lab-a', 'a-c1', 'b-c1', 'b-c2'] });
});

test('the target picks devices by type and EUI, and hubs by variant and region (validate hubs excepted)', () => {
  const ppmidOnly = plan([{ kind: 'validate', hubs: ['lab-a'] }, { kind: 'mass' }], {
    deploy: { kind: 'device-image', deviceTypes: ['PPMID'], activate: false } as Plan['deploy'],
    target: { variants: ['B'], regions: ['Central', 'South'] },
  });
  const hubs = targetHubs(ppmidOnly, fleet);
  // b-s1 has no PPMID, so nothing to update there.
  expect(hubs.map((h) => h.id)).toEqual(['lab-a', 'b-c1', 'b-c2']);
  expect(hubs.every((h) => h.units.every((u) => u.type === 'PPMID' && u.goal === 'confirmed'))).toBe(true);
});

test('an HCALCS aims for Version confirmed when the plan activates it, else for Transferred', () => {
  const goals = (activate: boolean) => targetHubs(plan([{ kind: 'mass' }], { deploy: { kind: 'device-image', deviceTypes: ['HCALCS'], activate } as Plan['deploy'] }), fleet)[0].units[0].goal;
  expect(goals(true)).toBe('confirmed');
  expect(goals(false)).toBe('transferred');
});

test('hub firmware targets the hub itself', () => {
  const hubs = targetHubs(plan([{ kind: 'mass' }], { deploy: { kind: 'hub-firmware', bundle: 'x.js', version: '0.2.0' } }), fleet);
  expect(hubs).toHaveLength(fleet.hubs.length);
  expect(hubs[0].units).toEqual([{ eui: '', type: 'HUB', goal: 'confirmed' }]);
});
