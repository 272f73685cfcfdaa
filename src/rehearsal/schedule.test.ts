import { describe, expect, it } from 'vitest';
import { rehearsalFault, type RehearsalFault } from '../plan/schema.js';
import { bakeStageMsFor, createFaultSchedule } from './schedule.js';
import { defaultSchedule } from './default-schedule.js';

const fault = (input: unknown): RehearsalFault => rehearsalFault.parse(input);
const tick = (ms = 0): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** An in-memory injector: records what it was asked to do and when each fault was cleared. */
function recorder() {
  const log: string[] = [];
  return {
    log,
    inject: async (f: RehearsalFault) => {
      if (f.name === 'broken') throw new Error('no such target');
      log.push(`inject ${f.name}`);
      return { detail: `did ${f.name}`, clear: async () => void log.push(`clear ${f.name}`) };
    },
  };
}

describe('the fault schedule', () => {
  it('injects at a stage start and a step intent, clears at the end of the stage or after `for`', async () => {
    const r = recorder();
    const schedule = createFaultSchedule(
      [
        fault({ name: 'lag', kind: 'network', path: 'replication', at: { stage: 'replicate' } }),
        fault({ name: 'kill', kind: 'process', target: 'executor', signal: 'SIGKILL', at: { step: 'verify-tables' } }),
        fault({ name: 'slow', kind: 'http', errorRate: 0.05, at: { stage: 'shift', after: '50ms' }, for: '50ms' }),
        fault({ name: 'never', kind: 'ddl', at: { stage: 'bake' } }),
        fault({ name: 'broken', kind: 'long-transaction', at: { stage: 'cutover' } }),
      ],
      { inject: r.inject },
    );
    schedule.observe({ type: 'stage-started', stage: 'replicate' });
    schedule.observe({ type: 'step-intent', stage: 'replicate', step: 'pg/shop/start' });
    await tick();
    expect(r.log).toEqual(['inject lag']);
    schedule.observe({ type: 'stage-done', stage: 'replicate' });
    await tick();
    expect(r.log).toEqual(['inject lag', 'clear lag']);
    schedule.observe({ type: 'stage-started', stage: 'verify' });
    schedule.observe({ type: 'step-intent', stage: 'verify', step: 'pg/shop/verify-tables' });
    await tick();
    expect(r.log.at(-1)).toBe('inject kill');
    schedule.observe({ type: 'stage-started', stage: 'shift' });
    await tick(20);
    expect(r.log).not.toContain('inject slow');
    await tick(1200);
    expect(r.log).toContain('clear kill');
    expect(r.log.indexOf('clear slow')).toBeGreaterThan(r.log.indexOf('inject slow'));
    schedule.observe({ type: 'stage-started', stage: 'cutover' });
    await tick();
    const records = await schedule.finish();
    const byName = Object.fromEntries(records.map((x) => [x.name, x]));
    expect(byName.lag).toMatchObject({ stage: 'replicate', detail: 'did lag' });
    expect(byName.lag?.injectedAt).toMatch(/^\d{4}-/);
    expect(byName.lag?.clearedAt).toMatch(/^\d{4}-/);
    expect(byName.kill).toMatchObject({ stage: 'verify' });
    expect(byName.slow).toMatchObject({ stage: 'shift' });
    expect(byName.never).toMatchObject({ injectedAt: null, clearedAt: null, error: 'its moment never came' });
    expect(byName.broken).toMatchObject({ injectedAt: null, stage: 'cutover' });
    expect(byName.broken?.error).toContain('no such target');
  });

  it('says which faults are in place until each is cleared (the runner waits on it before resuming a held run)', async () => {
    const r = recorder();
    const schedule = createFaultSchedule(
      [
        fault({ name: 'errors', kind: 'http', errorRate: 0.5, at: { stage: 'shift' }, for: '80ms' }),
        fault({ name: 'later', kind: 'ddl', at: { stage: 'bake' } }),
      ],
      { inject: r.inject },
    );
    expect(schedule.inPlace()).toEqual([]);
    schedule.observe({ type: 'stage-started', stage: 'shift' });
    expect(schedule.inPlace()).toEqual(['errors']);
    await tick(20);
    expect(schedule.inPlace()).toEqual(['errors']);
    await tick(150);
    expect(schedule.inPlace()).toEqual([]);
    expect(r.log).toEqual(['inject errors', 'clear errors']);
    await schedule.finish();
  });

  it('clears at finish what is still in place, and injects nothing after', async () => {
    const r = recorder();
    const schedule = createFaultSchedule(
      [
        fault({ name: 'held', kind: 'long-transaction', at: { stage: 'cutover' } }),
        fault({ name: 'late', kind: 'ddl', at: { after: '10s' } }),
      ],
      { inject: r.inject },
    );
    schedule.observe({ type: 'stage-started', stage: 'cutover' });
    await tick();
    const records = await schedule.finish();
    schedule.observe({ type: 'stage-started', stage: 'cutover' });
    expect(r.log).toEqual(['inject held', 'clear held']);
    expect(records.find((x) => x.name === 'late')).toMatchObject({ injectedAt: null });
  });

  it('makes the bake stage last until the faults scheduled in it were injected, cleared, and 2 s more', () => {
    expect(bakeStageMsFor([], 3000)).toBe(3000);
    expect(bakeStageMsFor(defaultSchedule({ reduced: true }), 1000)).toBe(1000);
    // The default schedule's target PostgreSQL kill: 4.5 s into bake, down 3 s.
    expect(bakeStageMsFor(defaultSchedule(), 3000)).toBe(9500);
    const late = fault({ name: 'late', kind: 'ddl', at: { stage: 'shift', after: '20s' }, for: '5s' });
    expect(bakeStageMsFor([late], 3000)).toBe(3000);
  });
});
