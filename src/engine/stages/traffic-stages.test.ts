import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CutoverPhases, DataPlane } from '../../data/data-plane.js';
import { createFakeDataPlane, createFakeWorld } from '../../data/fake/fake-data-plane.js';
import type { Step } from '../step.js';
import { createRuntime } from '../runtime.js';
import { testPlan } from '../testing.js';
import { cutoverStage, shiftStage } from './traffic-stages.js';

const names = (steps: Step[]): string[] => steps.map((s) => s.name);
const stateDir = path.join(os.tmpdir(), 'handoff-traffic-stages-test-never-written');

describe("the cutover hold covers exactly the data plane's underHold phase", () => {
  const plan = testPlan({
    source: { platform: { kind: 'local' }, databases: { a: { url: { fromEnv: 'A' } }, b: { url: { fromEnv: 'B' } } } },
    target: { platform: { kind: 'local' }, databases: { a: { url: { fromEnv: 'C' } }, b: { url: { fromEnv: 'D' } } } },
    data: [{ database: 'a' }, { database: 'b' }],
    traffic: { router: { kind: 'builtin', listen: '127.0.0.1:3' } },
  });
  const step = (name: string): Step => ({ name, run: () => Promise.resolve({}) });
  // Names that say nothing about their phase: the stage must place the hold by structure alone.
  const phases = (db: string): CutoverPhases => ({
    beforeHold: [step(`${db}-one`)],
    underHold: [step(`${db}-two`), step(`${db}-three`)],
    afterHold: [step(`${db}-four`)],
  });
  const fake = createFakeDataPlane(createFakeWorld());
  const plane: DataPlane = { ...fake, cutoverSteps: (entry) => phases(entry.database) };

  it('runs every beforeHold, holds, every underHold, routes, releases, then every afterHold', () => {
    const stage = cutoverStage(plan, {
      checkpoint: () => {},
      runtime: createRuntime({ stateDir, overrides: { dataPlane: plane } }),
    });
    expect(names(stage.steps)).toEqual([
      'a-one',
      'b-one',
      'hold-requests',
      'a-two',
      'a-three',
      'b-two',
      'b-three',
      'route-to-target',
      'release-requests',
      'a-four',
      'b-four',
    ]);
  });

  it('never retries a step under the hold (a retry would outlast maxHold)', () => {
    const stage = cutoverStage(plan, {
      checkpoint: () => {},
      runtime: createRuntime({ stateDir, overrides: { dataPlane: plane } }),
    });
    expect(stage.steps.filter((s) => s.retry === false).map((s) => s.name)).toEqual([
      'a-two',
      'a-three',
      'b-two',
      'b-three',
      'route-to-target',
    ]);
  });
});

describe('a weights-only router (Gateway API, DNS)', () => {
  const plan = (kind: 'builtin' | 'gateway-api') =>
    testPlan({
      source: {
        platform: { kind: 'local' },
        endpoint: 'http://127.0.0.1:1',
        databases: { shop: { url: { fromEnv: 'A' } } },
      },
      target: {
        platform: { kind: 'local' },
        endpoint: 'http://127.0.0.1:2',
        databases: { shop: { url: { fromEnv: 'B' } } },
      },
      data: [{ database: 'shop' }],
      traffic: { router: kind === 'builtin' ? { kind, listen: '127.0.0.1:3' } : { kind, route: 'shop' } },
    });
  const deps = { checkpoint: () => {}, runtime: createRuntime({ stateDir }) };

  it('skips the read shift, saying all traffic moves at cutover', () => {
    expect(shiftStage(plan('gateway-api'), deps).skip).toMatch(
      /moves reads and writes together.*all traffic moves at cutover/,
    );
    expect(shiftStage(plan('builtin'), deps).skip).toBeUndefined();
  });

  it('cuts over without holding requests, which only the built-in router can do', () => {
    const held = names(cutoverStage(plan('builtin'), deps).steps);
    const plain = names(cutoverStage(plan('gateway-api'), deps).steps);
    expect(held).toEqual(
      expect.arrayContaining(['hold-requests', 'release-requests', 'pg-shop-fence-source', 'route-to-target']),
    );
    expect(plain).not.toContain('hold-requests');
    expect(plain).not.toContain('release-requests');
    expect(plain).toEqual(expect.arrayContaining(['pg-shop-fence-source', 'pg-shop-open-target', 'route-to-target']));
  });
});
