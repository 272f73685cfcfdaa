import { describe, expect, it } from 'vitest';
import { parseProcStat } from '../common/proc-stat.js';
import { machineCpuTracker, parsePressureSome, type MachineTicks } from './machine-cpu.js';

const stat = (user: number, idle: number, steal: number) =>
  [
    `cpu  ${user} 0 0 ${idle} 0 0 0 ${steal} 0 0`,
    `cpu0 0 0 0 0 0 0 0 0 0 0`,
    `cpu1 0 0 0 0 0 0 0 0 0 0`,
    'intr 1 2 3',
  ].join('\n');

describe('parseProcStat', () => {
  it('reads the aggregate line: busy, steal, total ticks and the number of CPUs', () => {
    const text = 'cpu  5580797 5161 1105686 2689350 133827 0 128862 77032 0 0\ncpu0 1\ncpu1 1\nctxt 5\n';
    expect(parseProcStat(text)).toEqual({
      busy: 5580797 + 5161 + 1105686 + 128862,
      steal: 77032,
      total: 5580797 + 5161 + 1105686 + 2689350 + 133827 + 128862 + 77032,
      cpus: 2,
    });
  });

  it('is null without an aggregate line or with one that is not numbers', () => {
    expect(parseProcStat('intr 1\n')).toBeNull();
    expect(parseProcStat('cpu  a b c d\n')).toBeNull();
  });
});

describe('machineCpuTracker', () => {
  it('gives each stage its busy and stolen cores, adding up a stage entered twice', () => {
    const readings: MachineTicks[] = [
      parseProcStat(stat(0, 0, 0)),
      parseProcStat(stat(150, 50, 0)), // baseline: 150 busy of 200 ticks on 2 CPUs → 1.5 cores
      parseProcStat(stat(350, 50, 0)), // copy: all busy → 2 cores
      parseProcStat(stat(400, 100, 100)), // baseline again: 50 busy, 50 idle, 100 steal of 200
    ].map((r) => r as MachineTicks);
    let i = 0;
    const tracker = machineCpuTracker(() => readings[i++] ?? null);
    tracker.mark('baseline');
    tracker.mark('copy');
    tracker.mark('baseline');
    tracker.mark(null);
    // baseline: 150 + 50 busy, 100 steal, of 400 ticks on 2 CPUs
    expect(tracker.result()).toEqual({
      cores: 2,
      stages: { baseline: { busyCores: 1, stealCores: 0.5 }, copy: { busyCores: 2, stealCores: 0 } },
    });
  });

  it('is null where the machine cannot be read, and leaves out a stage whose reading failed', () => {
    expect(machineCpuTracker(() => null).result()).toBeNull();
    const readings = [
      parseProcStat(stat(0, 0, 0)),
      null,
      parseProcStat(stat(100, 100, 0)),
      parseProcStat(stat(200, 100, 0)),
    ];
    let i = 0;
    const tracker = machineCpuTracker(() => readings[i++] ?? null);
    tracker.mark('a');
    tracker.mark('b'); // unreadable: a is lost, b has no start
    tracker.mark('c');
    tracker.mark(null);
    expect(tracker.result()).toEqual({ cores: 2, stages: { c: { busyCores: 2, stealCores: 0 } } });
  });
});

describe('pressure stall information', () => {
  it("reads the 'some' total of a /proc/pressure file", () => {
    const text =
      'some avg10=10.19 avg60=7.42 avg300=5.30 total=1804482525\nfull avg10=8.97 avg60=3.45 avg300=1.59 total=800187923\n';
    expect(parsePressureSome(text)).toBe(1804482525);
    expect(parsePressureSome('full avg10=0 total=5\n')).toBeNull();
  });

  it('gives each stage the share of its time some task waited for a CPU and for I/O', () => {
    // 2 CPUs, 200 ticks each interval: 1 s of wall time.
    const at = (ticks: number, cpuSomeUs: number | null, ioSomeUs: number | null): MachineTicks => ({
      busy: ticks / 2,
      steal: 0,
      total: ticks,
      cpus: 2,
      cpuSomeUs,
      ioSomeUs,
    });
    const readings = [at(0, 0, 0), at(200, 400_000, 100_000), at(400, 1_400_000, 100_000), at(600, null, null)];
    let i = 0;
    const tracker = machineCpuTracker(() => readings[i++] ?? null);
    tracker.mark('verify');
    tracker.mark('cutover');
    tracker.mark('bake'); // the last reading has no pressure: bake gets none
    tracker.mark(null);
    expect(tracker.result()?.stages).toEqual({
      verify: { busyCores: 1, stealCores: 0, cpuWaitShare: 0.4, ioWaitShare: 0.1 },
      cutover: { busyCores: 1, stealCores: 0, cpuWaitShare: 1, ioWaitShare: 0 },
      bake: { busyCores: 1, stealCores: 0 },
    });
  });
});
