import { describe, expect, it } from 'vitest';
import { formatOffset, niceCeiling, renderChart, timeStep } from './svg-chart.js';

const base = {
  id: 'c',
  title: 'Weights',
  description: 'Share of reads to the target over time.',
  yLabel: '%',
  formatY: (v: number) => `${v} %`,
  from: 0,
  to: 100_000,
  bands: [
    { label: 'shift', start: 0, end: 60_000 },
    { label: 'rollback', start: 60_000, end: 100_000, kind: 'rollback' as const },
  ],
};

describe('svg charts', () => {
  it('rounds axes and time ticks to numbers people read', () => {
    expect([0.3, 1, 7, 22, 130, 0].map(niceCeiling)).toEqual([0.5, 1, 10, 25, 200, 1]);
    expect(timeStep(60_000)).toBe(10_000);
    expect(timeStep(100_000)).toBe(15_000);
    expect(timeStep(3_600_000)).toBe(600_000);
    expect([0, 5_400, 65_000, 3_725_000].map(formatOffset)).toEqual(['+0:00', '+0:05', '+1:05', '+1h02']);
  });

  it('draws a step series as horizontal then vertical segments, held to the end of the axis', () => {
    const svg = renderChart({
      ...base,
      yMax: 100,
      series: [
        {
          name: 'reads to target',
          color: '#e8590c',
          step: true,
          points: [
            { t: 0, v: 0 },
            { t: 50_000, v: 50 },
          ],
        },
      ],
    });
    // plot: x 64..744 (680 wide), y 34..204 (170 high) → 50 % at y 119.
    expect(svg).toContain('points="64,204 404,204 404,119 744,119"');
    expect(svg).toContain('data-series="reads to target" data-points="2"');
    expect(svg).toContain('role="img"');
    expect(svg).toContain('<title id="c-title">Weights</title>');
    expect(svg).toContain('class="band-rollback"');
    expect(svg).not.toContain('no data recorded');
  });

  it('thins a long series for drawing but keeps every spike, and still says how many points it holds', () => {
    const points = Array.from({ length: 20_000 }, (_, i) => ({ t: i * 5, v: i === 12_345 ? 99 : i % 7 }));
    const svg = renderChart({ ...base, series: [{ name: 'p99', color: '#000', points }] });
    expect(svg).toContain('data-points="20000"');
    const vertices = /<polyline points="([^"]*)"/.exec(svg)?.[1]?.split(' ') ?? [];
    expect(vertices.length).toBeGreaterThan(300);
    expect(vertices.length).toBeLessThanOrEqual(4 * 340 + 4);
    // The one spike to 99 is drawn: the y axis reaches it and a vertex is at its height.
    expect(svg).toContain('class="tick">100 %</text>');
    const spikeY = (34 + 170 - (99 / 100) * 170).toFixed(1).replace(/\.0$/, '');
    expect(vertices.some((v) => v.endsWith(`,${spikeY}`))).toBe(true);
    expect(svg).not.toContain('<circle'); // too many points for dots
  });

  it('says so when there is nothing to draw, and escapes series names', () => {
    const svg = renderChart({ ...base, series: [{ name: '<b>x</b>', color: '#000', points: [] }] });
    expect(svg).toContain('no data recorded');
    expect(svg).not.toContain('<polyline');
    expect(svg).toContain('&lt;b&gt;x&lt;/b&gt;');
  });
});
