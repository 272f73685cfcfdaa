/**
 * Issue 13: the checker can fail. With the test-only switch HANDOFF_TEST_BROKEN=apply-twice, the
 * demo service applies every POST /events twice; the reduced rehearsal must report duplicated
 * writes and exit 1. Bad input is exit 2 with what is missing, and nothing is started.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RehearsalOutcome } from '../../src/rehearsal/run-rehearsal.js';
import { runCli } from '../support/cli.js';
import { makeTempDir } from '../support/tmp.js';

const cleanups: Array<() => void> = [];
afterAll(() => cleanups.forEach((cleanup) => cleanup()));

describe('handoff rehearse, its checker failing and its bad input', () => {
  it('reports duplicated writes and exits 1 when the service applies writes twice', { timeout: 240_000 }, async () => {
    const tmp = makeTempDir('handoff-rehearse-broken-');
    cleanups.push(tmp.cleanup);
    const stateDir = path.join(tmp.dir, 'state');
    const result = await runCli(['demo', '--rehearse-reduced', '-o', 'json', '--state-dir', stateDir], {
      env: { HANDOFF_TEST_BROKEN: 'apply-twice' },
      timeoutMs: 230_000,
    });
    expect(result.code, result.stderr.slice(-3000)).toBe(1);
    const out = JSON.parse(result.stdout) as RehearsalOutcome;
    expect(out.ok).toBe(false);
    expect(out.invariants.duplicated).toBeGreaterThan(0);
    expect(out.violated).toContain(`duplicated ${out.invariants.duplicated}`);
    const written = JSON.parse(
      fs.readFileSync(path.join(stateDir, 'rehearsal', 'result.json'), 'utf8'),
    ) as RehearsalOutcome;
    expect(written.invariants.duplicated).toBe(out.invariants.duplicated);
    expect(fs.readFileSync(path.join(stateDir, 'rehearsal', 'report.md'), 'utf8')).toContain('duplicated');
  });

  it(
    'refuses a plan without spec.rehearsal and a plan whose sites it cannot build (exit 2)',
    { timeout: 60_000 },
    async () => {
      const tmp = makeTempDir('handoff-rehearse-input-');
      cleanups.push(tmp.cleanup);
      const stateDir = path.join(tmp.dir, 'state');
      const plan = (name: string, rehearsal: string): string => `apiVersion: handoff.dev/v1alpha1
kind: Migration
metadata: { name: ${name} }
spec:
  source: { platform: { kind: local }, endpoint: "http://127.0.0.1:1" }
  target: { platform: { kind: local }, endpoint: "http://127.0.0.1:2" }
${rehearsal}`;
      const fault = `  rehearsal:\n    faults:\n      - { name: lag, kind: network, path: replication, at: { stage: replicate } }\n`;
      const none = path.join(tmp.dir, 'none.yaml');
      fs.writeFileSync(none, plan('demo-shop', ''));
      const other = path.join(tmp.dir, 'other.yaml');
      fs.writeFileSync(other, plan('shop', fault));
      const bad = path.join(tmp.dir, 'bad.yaml');
      fs.writeFileSync(bad, plan('demo-shop', fault.replace('replication', 'nowhere')));

      const missing = await runCli(['rehearse', '-f', none, '--state-dir', stateDir]);
      expect(missing.code, missing.stderr).toBe(2);
      expect(missing.stderr).toContain('spec.rehearsal');
      const elsewhere = await runCli(['rehearse', '-f', other, '--state-dir', stateDir]);
      expect(elsewhere.code, elsewhere.stderr).toBe(2);
      expect(elsewhere.stderr).toContain("only the demo's two local sites");
      const wrong = await runCli(['rehearse', '-f', bad, '--state-dir', stateDir]);
      expect(wrong.code, wrong.stderr).toBe(2);
      expect(wrong.stderr).toContain('path');
      const broken = await runCli(['demo', '--rehearse-reduced', '--state-dir', stateDir], {
        env: { HANDOFF_TEST_BROKEN: 'lose-writes' },
      });
      expect(broken.code, broken.stderr).toBe(2);
      expect(broken.stderr).toContain('HANDOFF_TEST_BROKEN');
      const keep = await runCli(['demo', '--rehearse', '--keep', '--state-dir', stateDir]);
      expect(keep.code, keep.stderr).toBe(2);
      expect(keep.stderr).toContain('--keep: not with --rehearse');
      // Nothing was started: no state directory was made.
      expect(fs.existsSync(stateDir)).toBe(false);
    },
  );
});
