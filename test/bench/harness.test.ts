/**
 * The benchmark harness's record of the machine's conditions: the host's stolen and busy shares
 * from /proc/stat's counters (pure arithmetic, tested apart), and the counters read from the real
 * /proc on Linux.
 */
import { describe, expect, it } from 'vitest';
import { parseCpuTicks, readCpuTicks, tickShares } from '../../bench/harness.js';

const SAMPLE = [
  'cpu  93162 0 19113 44746 2077 0 4999 7980 0 0',
  'cpu0 46581 0 9556 22373 1038 0 2499 3990 0 0',
  'intr 123',
].join('\n');

describe('the harness’s CPU counters', () => {
  it('reads the aggregate cpu line: busy, idle (with iowait) and stolen ticks', () => {
    expect(parseCpuTicks(SAMPLE)).toEqual({
      total: 93162 + 19113 + 44746 + 2077 + 4999 + 7980,
      idle: 44746 + 2077,
      steal: 7980,
    });
  });

  it('gives null for a missing or malformed cpu line, never a guess', () => {
    expect(parseCpuTicks('intr 1\nctxt 2')).toBeNull();
    expect(parseCpuTicks('cpu  1 2 3')).toBeNull();
    expect(parseCpuTicks('cpu  1 2 x 4 5 6 7 8')).toBeNull();
  });

  it('turns two readings into the shares of stolen and busy time between them', () => {
    const before = { total: 1000, idle: 600, steal: 10 };
    const after = { total: 3000, idle: 1100, steal: 110 };
    // 2,000 ticks passed: 100 stolen (5 %), 500 idle (75 % busy).
    expect(tickShares(before, after)).toEqual({ steal: 0.05, busy: 0.75 });
  });

  it('says unknown (null) when a reading is missing or no time passed', () => {
    const reading = { total: 1000, idle: 600, steal: 10 };
    expect(tickShares(null, reading)).toEqual({ steal: null, busy: null });
    expect(tickShares(reading, null)).toEqual({ steal: null, busy: null });
    expect(tickShares(reading, reading)).toEqual({ steal: null, busy: null });
  });

  it.runIf(process.platform === 'linux')('reads this machine’s counters from /proc/stat', () => {
    const ticks = readCpuTicks();
    expect(ticks).not.toBeNull();
    expect(ticks?.total).toBeGreaterThan(0);
    expect(ticks?.idle).toBeLessThanOrEqual(ticks?.total ?? 0);
  });
});
