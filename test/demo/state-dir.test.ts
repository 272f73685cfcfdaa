/**
 * One state directory means one place to look (issue 12, point 3): after `handoff demo --state-dir
 * DIR`, the commands the demo prints as its last lines (status, explain, report, audit verify with
 * the pinned key) find its run there. The signing key is in the key directory, not in DIR.
 * One demo run, the shortest settings the demo test uses.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runCli } from '../support/cli.js';
import { listFiles, makeTempDir } from '../support/tmp.js';

const tmp = makeTempDir('handoff-demo-dir-');
afterAll(() => tmp.cleanup());

describe('handoff demo --state-dir DIR', () => {
  it(
    'leaves its run where status, explain, report and audit verify look, and says so in its last lines',
    { timeout: 600_000 },
    async () => {
      const stateDir = path.join(tmp.dir, 'state');
      const keyDir = path.join(tmp.dir, 'keys');
      const env = { HANDOFF_KEY_DIR: keyDir };
      const demo = await runCli(['demo', '--state-dir', stateDir, '--rows', '5000', '--duration', '3s', '-o', 'json'], {
        env,
        timeoutMs: 540_000,
      });
      // What is checked here is where the run is kept, not the demo's verdict: exit 1 ("demo NOT ok",
      // say requests failing on an overloaded machine) still leaves a run to look at; the verdict is
      // test/demo/demo.test.ts's.
      expect([0, 1], demo.stderr).toContain(demo.code);
      // Exit 1 is also an error the demo could not get past (it prints no summary then): say which.
      expect(demo.stdout, demo.stderr.slice(-4000)).not.toBe('');
      const summary = z
        .object({ ok: z.boolean(), runId: z.string(), stateDir: z.string() })
        .parse(JSON.parse(demo.stdout));
      expect(summary.stateDir).toBe(stateDir);

      // The demo's own files are in a demo-<time>/ directory; the run store and trail are in DIR.
      const demoDirs = fs.readdirSync(stateDir).filter((name) => name.startsWith('demo-'));
      expect(demoDirs).toHaveLength(1);
      expect(fs.existsSync(path.join(stateDir, demoDirs[0]!, 'plan.yaml'))).toBe(true);
      expect(fs.existsSync(path.join(stateDir, 'state.db'))).toBe(true);
      expect(fs.existsSync(path.join(stateDir, 'audit', 'trail.jsonl'))).toBe(true);
      // The private key is in the key directory only.
      expect(fs.existsSync(path.join(keyDir, 'signing-key.pem'))).toBe(true);
      expect(listFiles(stateDir).filter((file) => file.endsWith('signing-key.pem'))).toEqual([]);

      // The last lines name the commands; run them exactly as printed.
      const tail = demo.stderr.slice(demo.stderr.lastIndexOf('look at the run:'));
      const commands = tail
        .split('\n')
        .filter((line) => line.startsWith('  handoff '))
        .map((line) => line.trim().split(/\s+/).slice(1));
      expect(commands.map((args) => args[0])).toEqual(['status', 'explain', 'report', 'audit']);
      for (const args of commands)
        expect(args.slice(args.indexOf('--state-dir'), args.indexOf('--state-dir') + 2)).toEqual([
          '--state-dir',
          stateDir,
        ]);
      const fingerprint = commands[3]![commands[3]!.indexOf('--public-key') + 1];
      expect(fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);

      const [status, explain, report, verify] = await Promise.all(commands.map((args) => runCli(args, { env })));
      expect(status?.code, status?.stderr).toBe(0);
      expect(status?.stdout).toContain(summary.runId);
      expect(status?.stdout).not.toMatch(/no runs/i);
      expect(explain?.code, explain?.stderr).toBe(0);
      expect(explain?.stdout).toContain(summary.runId);
      expect(report?.code, report?.stderr).toBe(0);
      expect(report?.stdout).toContain(path.join(stateDir, 'reports'));
      expect(verify?.code, verify?.stdout + (verify?.stderr ?? '')).toBe(0);
      expect(verify?.stdout).toMatch(/audit trail valid: \d+ records/);
      expect(verify?.stdout).toContain(`signing key ${fingerprint} (pinned)`);

      const json = await runCli(['status', '--state-dir', stateDir, '-o', 'json'], { env });
      const runs = z
        .object({ runs: z.array(z.object({ id: z.string() }).passthrough()) })
        .parse(JSON.parse(json.stdout)).runs;
      expect(runs.map((run) => run.id)).toEqual([summary.runId]);
    },
  );
});
