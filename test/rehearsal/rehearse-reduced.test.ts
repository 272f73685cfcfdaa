/**
 * Issue 13: the reduced rehearsal (`handoff demo --rehearse-reduced -o json`, three faults of the
 * default schedule, 2000 rows) end to end: the real executor under load with its faults injected,
 * every invariant holding, every fault listed with its reaction and recovery time, the result and
 * the history written in the state directory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RehearsalOutcome } from '../../src/rehearsal/run-rehearsal.js';
import { readHistory } from '../../src/rehearsal/history.js';
import { runCli } from '../support/cli.js';
import { ALL_INVARIANTS_HOLD } from '../support/invariants.js';
import { makeTempDir } from '../support/tmp.js';

const cleanups: Array<() => void> = [];
afterAll(() => cleanups.forEach((cleanup) => cleanup()));

describe('handoff demo --rehearse-reduced', () => {
  it('injects its faults into a real run under load and every invariant holds', { timeout: 240_000 }, async () => {
    const tmp = makeTempDir('handoff-rehearse-');
    cleanups.push(tmp.cleanup);
    const stateDir = path.join(tmp.dir, 'state');
    const result = await runCli(['demo', '--rehearse-reduced', '-o', 'json', '--state-dir', stateDir], {
      timeoutMs: 230_000,
    });
    expect(result.code, result.stderr.slice(-3000)).toBe(0);
    const out = JSON.parse(result.stdout) as RehearsalOutcome;
    expect(out.ok).toBe(true);
    expect(out.violated).toEqual([]);
    expect(out.invariants).toEqual(ALL_INVARIANTS_HOLD);
    expect(out.run.state).toBe('succeeded');
    expect(out.faults.map((f) => f.name)).toEqual([
      'replication-latency',
      'executor-kill-verify',
      'long-transaction-cutover',
    ]);
    for (const fault of out.faults) {
      expect(fault.injectedAt, `${fault.name}: ${fault.detail}`).not.toBeNull();
      expect(fault.clearedAt, fault.name).not.toBeNull();
      expect(typeof fault.reaction).toBe('string');
      expect(fault.failedRequests).toBeGreaterThanOrEqual(0);
    }
    expect(out.faults.find((f) => f.name === 'replication-latency')?.stage).toBe('replicate');
    expect(out.faults.find((f) => f.name === 'executor-kill-verify')?.stage).toBe('verify');
    // The killed executor was resumed: more than the two executors of a quiet rehearsal.
    expect(out.run.executors).toBeGreaterThanOrEqual(3);
    expect(out.faults.find((f) => f.name === 'executor-kill-verify')?.reaction).toBe('resume');

    const written = JSON.parse(
      fs.readFileSync(path.join(stateDir, 'rehearsal', 'result.json'), 'utf8'),
    ) as RehearsalOutcome;
    expect(written).toEqual(out);
    const history = readHistory(path.join(stateDir, 'rehearsal', 'history.jsonl'));
    expect(history.filter((op) => op.type === 'ok').length).toBeGreaterThan(100);
  });
});
