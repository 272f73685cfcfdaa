import { describe, expect, it } from 'vitest';
import type { Step } from '../step.js';
import { testPlan } from '../testing.js';
import { cutoverStage, shiftStage, splitAroundHold } from './traffic-stages.js';

const step = (name: string): Step => ({ name, run: () => Promise.resolve({}) });
const names = (steps: Step[]): string[] => steps.map((s) => s.name);

describe('the cutover hold covers only the fence-to-open steps', () => {
  it('runs the lag check and reverse preparation before the hold, and the forward drop after the release', () => {
    const steps = ['lag-check', 'prepare-reverse', 'fence-source', 'drain-to-target', 'open-target', 'drop-retired-forward'].map((n) => step(`pg-shop-${n}`));
    const split = splitAroundHold(steps);
    expect(names(split.before)).toEqual(['pg-shop-lag-check', 'pg-shop-prepare-reverse']);
    expect(names(split.held)).toEqual(['pg-shop-fence-source', 'pg-shop-drain-to-target', 'pg-shop-open-target']);
    expect(names(split.after)).toEqual(['pg-shop-drop-retired-forward']);
  });

  it('holds every step of a data plane whose steps it does not recognise', () => {
    const steps = [step('switch'), step('cleanup')];
    expect(splitAroundHold(steps)).toEqual({ before: [], held: steps, after: [] });
  });
});

describe('a weights-only router (Gateway API, DNS)', () => {
  const plan = (kind: 'builtin' | 'gateway-api') =>
    testPlan({
      source: { platform: { kind: 'local' }, endpoint: 'http://127.0.0.1:1', databases: { shop: { url: { fromEnv: 'A' } } } },
      target: { platform: { kind: 'local' }, endpoint: 'http://127.0.0.1:2', databases: { shop: { url: { fromEnv: 'B' } } } },
      data: [{ database: 'shop' }],
      traffic: { router: kind === 'builtin' ? { kind, listen: '127.0.0.1:3' } : { kind, route: 'shop' } },
    });
  const deps = { checkpoint: () => {} };

  it('skips the read shift, saying all traffic moves at cutover', () => {
    expect(shiftStage(plan('gateway-api'), deps).skip).toMatch(/moves reads and writes together.*all traffic moves at cutover/);
    expect(shiftStage(plan('builtin'), deps).skip).toBeUndefined();
  });

  it('cuts over without holding requests, which only the built-in router can do', () => {
    const held = names(cutoverStage(plan('builtin'), deps).steps);
    const plain = names(cutoverStage(plan('gateway-api'), deps).steps);
    expect(held).toEqual(expect.arrayContaining(['hold-requests', 'release-requests', 'pg-shop-fence-source', 'route-to-target']));
    expect(plain).not.toContain('hold-requests');
    expect(plain).not.toContain('release-requests');
    expect(plain).toEqual(expect.arrayContaining(['pg-shop-fence-source', 'pg-shop-open-target', 'route-to-target']));
  });
});
