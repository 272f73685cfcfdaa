/**
 * Gates: how fast a bad step is detected and undone, and what the statistical judge costs.
 * - The detection drill (test/analysis/detection-drill.ts) with a 1 s interval, three times,
 *   against the same drill with a 10 s interval (Flagger's minimum interval) as the baseline.
 * - The Mann-Whitney judge on 10 000 + 10 000 latency samples against sorting the same samples.
 */
import { judgeLatency } from '../src/analysis/judges/latency-judge.js';
import { logNormalLatencies, seededRandom } from '../test/analysis/random.js';
import { runDetectionDrill } from '../test/analysis/detection-drill.js';
import type { Benchmark } from './harness.js';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

export const gatesBenchmark: Benchmark = {
  name: 'gates',
  async run() {
    const fast = [];
    // The fault starts at three phases of the interval: just after a tick, a third and two thirds in.
    for (const faultOffsetMs of [0, 333, 666])
      fast.push(await runDetectionDrill({ intervalMs: 1000, healthyTicks: 3, faultOffsetMs }));
    const slow = await runDetectionDrill({ intervalMs: 10_000, healthyTicks: 1 });
    const detection = median(fast.map((r) => r.detectionMs));
    const weightsBack = median(fast.map((r) => r.weightsBackMs));
    const worst = Math.max(...fast.map((r) => r.weightsBackMs));

    const random = seededRandom(11);
    const source = logNormalLatencies(random, 10_000, 40, 0.4);
    const target = logNormalLatencies(random, 10_000, 40, 0.4).map((x) => x * 1.1);
    const runs = 5;
    judgeLatency({ kind: 'samples', valuesMs: source }, { kind: 'samples', valuesMs: target }); // warm up the JIT
    let start = performance.now();
    for (let i = 0; i < runs; i++)
      judgeLatency({ kind: 'samples', valuesMs: source }, { kind: 'samples', valuesMs: target });
    const judgeMs = (performance.now() - start) / runs;
    start = performance.now();
    for (let i = 0; i < runs; i++) [...source, ...target].sort((a, b) => a - b);
    const sortMs = (performance.now() - start) / runs;

    return {
      benchmark: 'gates',
      baseline: 'the same detection drill with a 10 s interval (Flagger minimum); sorting the judge input',
      measurements: [
        {
          name: 'detection (first 5xx to rollback decision), 1 s interval, median of 3 fault phases',
          value: detection,
          unit: 'ms',
        },
        ...fast.map((r, i) => ({
          name: `weights back after first 5xx, fault ${[0, 333, 666][i]} ms after a tick`,
          value: r.weightsBackMs,
          unit: 'ms',
        })),
        { name: 'weights back on source after first 5xx, 1 s interval, median of 3', value: weightsBack, unit: 'ms' },
        { name: 'weights back on source after first 5xx, 1 s interval, worst of 3', value: worst, unit: 'ms' },
        { name: 'weights back on source after first 5xx, 10 s interval', value: slow.weightsBackMs, unit: 'ms' },
        { name: 'Mann-Whitney judge, 10k + 10k samples', value: judgeMs, unit: 'ms' },
        { name: 'sort of 20k samples', value: sortMs, unit: 'ms' },
      ],
      ratios: {
        'weights back: 1 s interval / 10 s interval': weightsBack / slow.weightsBackMs,
        'judge / sort': judgeMs / Math.max(sortMs, 0.001),
      },
      targets: [
        {
          name: 'bad step undone',
          target: 'first bad response to weights back on the source under 5 s with a 1 s interval (issue 5)',
          met: worst < 5000,
        },
        {
          name: 'judge cost',
          target: 'under 200 ms for 10k + 10k samples (it runs every interval)',
          met: judgeMs < 200,
        },
      ],
      notes: [
        'Weights are put back by the drill itself right after the decision; in a run the engine does it (issue 5 part 4).',
        `requests sent per drill: ${fast.map((r) => r.requestsSent).join(', ')}`,
      ],
    };
  },
};
