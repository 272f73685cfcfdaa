/**
 * Issue 13, point 6: the default schedule's SIGKILL of the target PostgreSQL in bake, alone, end to
 * end (`handoff rehearse -f`, the real executor under load): the bake gate fails, the run fails back
 * to the source (resumed by the rehearsal if an undo met the dead server), the server is started
 * again on its data directory, and every invariant holds on the source: no acknowledged write lost
 * (writes the target acknowledged after cutover are on the source), nothing left behind, no write
 * still refused.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEMO_ENV, demoPlanText } from '../../src/demo/demo-plan.js';
import { defaultSchedule } from '../../src/rehearsal/default-schedule.js';
import type { RehearsalOutcome } from '../../src/rehearsal/run-rehearsal.js';
import { runCli } from '../support/cli.js';
import { ALL_INVARIANTS_HOLD } from '../support/invariants.js';
import { makeTempDir } from '../support/tmp.js';

const cleanups: Array<() => void> = [];
afterAll(() => cleanups.forEach((cleanup) => cleanup()));

describe('handoff rehearse: the target PostgreSQL killed in bake', () => {
  it('fails back to the source with no acknowledged write lost', { timeout: 240_000 }, async () => {
    const tmp = makeTempDir('handoff-rehearse-failback-');
    cleanups.push(tmp.cleanup);
    const stateDir = path.join(tmp.dir, 'state');
    const kill = defaultSchedule().find((fault) => fault.name === 'target-postgres-kill-bake');
    expect(kill).toMatchObject({ kind: 'process', target: 'postgres-target', signal: 'SIGKILL' });
    const planFile = path.join(tmp.dir, 'plan.yaml');
    // The demo's plan (its ports and URLs are the runner's own: it takes only the faults and the bake).
    const planText = demoPlanText({
      serviceCommand: 'node',
      serviceArgs: ['service.js'],
      sourcePort: 1,
      targetPort: 2,
      routerPort: 3,
      adminPort: 4,
      bakeMs: 1000,
      injectErrors: null,
      envNames: DEMO_ENV,
      tokenFile: 'token',
    });
    fs.writeFileSync(planFile, `${planText}  rehearsal: ${JSON.stringify({ faults: [kill] })}\n`);
    const result = await runCli(['rehearse', '-f', planFile, '--rows', '500', '-o', 'json', '--state-dir', stateDir], {
      timeoutMs: 230_000,
    });
    expect(result.code, result.stderr.slice(-3000)).toBe(0);
    const out = JSON.parse(result.stdout) as RehearsalOutcome;
    expect(out.run.state).toBe('rolled-back');
    expect(out.invariants).toEqual(ALL_INVARIANTS_HOLD);
    const fault = out.faults[0];
    expect(fault?.injectedAt, fault?.detail).not.toBeNull();
    expect(fault).toMatchObject({ name: 'target-postgres-kill-bake', stage: 'bake', reaction: 'failback' });
    expect(fault?.recoveryMs).toBeGreaterThan(0);
    expect(fault?.detail).toMatch(/SIGKILL pid \d+ \(postgres-target\)/);
  });
});
