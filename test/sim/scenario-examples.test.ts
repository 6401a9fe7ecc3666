// The example scenarios are CI gates too: each must load and meet its own expectations.
import * as fs from 'fs';
import * as path from 'path';
import { loadScenario } from '../../host-tools/sim/scenario';
import { runScenario } from '../../host-tools/sim/scenario-run';

const DIR = path.join(__dirname, '../../host-tools/sim/scenarios');
const files = fs.readdirSync(DIR).filter((f) => f.endsWith('.yaml'));

test('there are example scenarios', () => {
  expect(files.length).toBeGreaterThanOrEqual(3);
});

test.each(files)('%s meets its expectations', (f) => {
  const { report } = runScenario(loadScenario(path.join(DIR, f)));
  expect(report.expectations.filter((e) => !e.ok)).toEqual([]);
});
