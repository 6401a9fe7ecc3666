import { timelineSvg } from '../../host-tools/sim/timeline-svg';

describe('timeline SVG', () => {
  const svg = timelineSvg({
    title: 'run <1> & co',
    from: 0,
    to: 60000,
    events: [{ t: 30000, note: 'hub reset' }],
    lanes: [
      {
        label: '000D6F0000000001 PPMID',
        size: 1000,
        points: Array.from({ length: 5000 }, (_, i) => ({ t: i * 10, offset: i / 5 })),
        marks: [
          { t: 1000, kind: 'retry', note: 'Image Block Request unanswered' },
          { t: 2000, kind: 'wait', until: 5000, note: 'WAIT_FOR_DATA 3.0s' },
          { t: 9000, kind: 'reboot' },
          { t: 10000, kind: 'outage', until: 20000 },
        ],
        end: { t: 50000, ok: true, note: 'ok 50.0s' },
      },
      { label: 'stalled', size: 1000, points: [{ t: 0, offset: 0 }, { t: 1000, offset: 100 }], marks: [{ t: 40000, kind: 'gave-up', note: 'gave up' }], end: { t: 55000, ok: false, note: 'failed (3)' } },
    ],
  });

  test('one lane per device with its progress line, marks and outcome', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<g>/g)).toHaveLength(2);
    expect(svg.match(/<polyline /g)).toHaveLength(2);
    expect(svg).toContain('retry: Image Block Request unanswered');
    expect(svg).toContain('wait: WAIT_FOR_DATA 3.0s');
    expect(svg).toContain('ok 50.0s');
    expect(svg).toContain('failed (3)');
    expect(svg).toContain('hub reset');
  });

  test('text is escaped and long runs are thinned to the pixel', () => {
    expect(svg).toContain('run &lt;1&gt; &amp; co');
    const points = (svg.match(/points="([^"]*)"/) as RegExpMatchArray)[1].split(' ');
    expect(points.length).toBeLessThan(2 * 900 + 2);
  });
});
