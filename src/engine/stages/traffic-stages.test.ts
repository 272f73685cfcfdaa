import { describe, expect, it } from 'vitest';
import type { Step } from '../types.js';
import { splitAroundHold } from './traffic-stages.js';

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
