/**
 * `handoff demo` end to end through the real CLI: two embedded PostgreSQL 18 servers, the demo
 * service on each site, the router, 200 requests per second through shift and cutover (issue 4's
 * end-to-end test and issue 6's demo); the rollback drill with a failing target (issue 5); and no
 * process left behind after SIGINT or SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive } from '../../src/common/children.js';
import type { DemoSummary } from '../../src/demo/summary.js';
import { formatMs } from '../../src/report/format.js';
import { repoRoot, runCli, tsxLoader } from '../support/cli.js';
import { expectCleanRun } from '../support/demo-verdict.js';
import { listFiles, makeTempDir } from '../support/tmp.js';

type Summary = DemoSummary;

interface Recorded {
  pid: number;
  name: string;
  cmdline: string;
}

const cleanups: Array<() => void> = [];
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const cleanup of cleanups) cleanup();
});

function tempStateDir(): string {
  const tmp = makeTempDir('handoff-demo-');
  cleanups.push(tmp.cleanup);
  return path.join(tmp.dir, 'state');
}

const DEMO_ARGS = ['--rows', '5000', '--duration', '3s'];

function records(stateDir: string): Recorded[] {
  try {
    return JSON.parse(fs.readFileSync(path.join(stateDir, 'processes.json'), 'utf8')) as Recorded[];
  } catch {
    return [];
  }
}

/** Still the process that was recorded (a recycled PID with another command line does not count). */
function stillRunning(record: Recorded): boolean {
  try {
    return (
      isAlive(record.pid) &&
      fs.readFileSync(`/proc/${record.pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ') === record.cmdline
    );
  } catch {
    return false;
  }
}

interface BackgroundDemo {
  child: ChildProcess;
  /** What it wrote to stderr so far. */
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

/** Starts a demo in the background, from source. */
function spawnDemo(stateDir: string): BackgroundDemo {
  const child = spawn(
    process.execPath,
    [
      '--import',
      tsxLoader,
      path.join(repoRoot, 'src', 'cli', 'entry.ts'),
      'demo',
      '--state-dir',
      stateDir,
      ...DEMO_ARGS,
    ],
    {
      cwd: repoRoot,
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout?.resume();
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, stderr: () => stderr, exited };
}

/** Starts a demo in the background; resolves once the registry holds both databases, the source's service and the router. */
async function startDemoUntilRunning(stateDir: string): Promise<{
  child: ChildProcess;
  running: Recorded[];
  exited: BackgroundDemo['exited'];
}> {
  const { child, stderr, exited } = spawnDemo(stateDir);
  const deadline = Date.now() + 180_000;
  for (;;) {
    const running = records(stateDir).filter((r) => r.pid > 0);
    const names = running.map((r) => r.name);
    if (
      names.includes('postgres-source') &&
      names.includes('postgres-target') &&
      names.includes('router') &&
      names.some((n) => n.startsWith('source/'))
    ) {
      return { child, running, exited };
    }
    if (child.exitCode !== null) throw new Error(`the demo exited early (${child.exitCode}): ${stderr()}`);
    if (Date.now() > deadline) throw new Error(`the demo did not start its processes in time: ${stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function parse(stdout: string): Summary {
  return JSON.parse(stdout) as Summary;
}

describe('handoff demo', () => {
  it('refuses bad flags with exit 2 and says which', async () => {
    const results = await Promise.all([
      runCli(['demo', '--rate', 'fast'], { timeoutMs: 60_000 }),
      runCli(['demo', '--inject-target-errors', '1.5'], { timeoutMs: 60_000 }),
      runCli(['demo', '--duration', 'soon'], { timeoutMs: 60_000 }),
      runCli(['demo', '-o', 'yaml'], { timeoutMs: 60_000 }),
      runCli(['demo', '--control', 'a while'], { timeoutMs: 60_000 }),
      runCli(['demo', '--control', '31m'], { timeoutMs: 60_000 }),
      runCli(['demo', '--rehearse-reduced', '--control', '30s'], { timeoutMs: 60_000 }),
    ]);
    expect(results.map((r) => r.code)).toEqual([2, 2, 2, 2, 2, 2, 2]);
    expect(results[0]?.stderr).toMatch(/--rate: "fast" is not a whole number/);
    expect(results[1]?.stderr).toMatch(/--inject-target-errors: "1.5"/);
    expect(results[2]?.stderr).toMatch(/--duration: "soon" is not a duration/);
    expect(results[4]?.stderr).toMatch(/--control: "a while" is not a duration/);
    expect(results[5]?.stderr).toMatch(/--control: 31m is out of range; give 0s to 30m/);
    expect(results[6]?.stderr).toMatch(/--control: not with --rehearse-reduced/);
    for (const r of results) expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it(
    'after a SIGKILLed demo, reaps its orphans and migrates under load with nothing lost',
    { timeout: 600_000 },
    async () => {
      const stateDir = tempStateDir();
      const killed = await startDemoUntilRunning(stateDir);
      killed.child.kill('SIGKILL');
      await killed.exited;
      // The children of a SIGKILLed handoff outlive it: the registry is how the next one finds them.
      expect(killed.running.some(stillRunning)).toBe(true);

      // Issue 4 asks for at least 200 requests per second through shift and cutover: offer 230 so the
      // ramp at the start and the end of the load does not pull the measured rate under 200.
      const result = await runCli(
        ['demo', '--state-dir', stateDir, ...DEMO_ARGS, '--rate', '230', '--control', '3s', '-o', 'json'],
        { timeoutMs: 540_000 },
      );
      expect(killed.running.filter(stillRunning)).toEqual([]);
      expect(result.stderr).toMatch(/ended \d+ processes an earlier demo left behind/);
      const summary = parse(result.stdout);
      // NOT ok only when the whole machine stopped (see demo-verdict.ts): then the rate and the share
      // sent are the host's doing; everything else below still holds.
      const ok = expectCleanRun(result, summary);
      expect(summary).toMatchObject({
        requests: { failed: 0 },
        writes: { lost: 0, duplicated: 0 },
        readYourWritesViolations: 0,
        invariants: { bankTotalPreserved: true },
        verification: { identical: true },
        audit: { valid: true },
        rollback: { happened: false, stage: null, reason: null, detectionMs: null },
      });
      expect(summary.writes.acknowledged).toBeGreaterThan(500);
      expect(summary.verification.rowsCompared).toBeGreaterThan(5000);
      if (ok) expect(summary.requests.perSecond).toBeGreaterThanOrEqual(200);
      expect(summary.cutover.writePauseMs).toEqual(expect.any(Number));
      // Client truth (issue 11): offered = sent + not sent, at most 5 % not sent; the client-observed
      // pause is never shorter than the router's own; latency for the baseline and every stage run under load.
      expect(summary.requests.offered).toBe(summary.requests.total + summary.requests.notSent);
      if (ok) expect(summary.requests.notSent).toBeLessThanOrEqual(0.05 * summary.requests.offered);
      // The clients' own stops (the machine or their thread not running) are counted, never more unsent than in all.
      expect(summary.requests.clientStops).toEqual({
        count: expect.any(Number),
        totalMs: expect.any(Number),
        longestMs: expect.any(Number),
        notSent: expect.any(Number),
      });
      expect(summary.requests.clientStops.notSent).toBeLessThanOrEqual(summary.requests.notSent);
      expect(summary.cutover.routerPauseMs).toEqual(expect.any(Number));
      expect(summary.cutover.writePauseMs as number).toBeGreaterThanOrEqual(
        Math.floor(summary.cutover.routerPauseMs as number),
      );
      expect(summary.latency.baseline.p99Ms).toEqual(expect.any(Number));
      // The baseline is the quieter of two 5 s windows, both reported.
      expect(summary.latency.baseline.windows).toHaveLength(2);
      expect(summary.latency.baseline.p99Ms).toBe(
        Math.min(...summary.latency.baseline.windows.map((w) => w.p99Ms as number)),
      );
      expect(summary.latency.baseline.windows[(summary.latency.baseline.window as number) - 1]?.p99Ms).toBe(
        summary.latency.baseline.p99Ms,
      );
      expect(Object.keys(summary.latency.stages).filter((stage) => stage.startsWith('baseline'))).toEqual([]);
      // The control (--control 3s): one window of the load before the baseline, judged by the run's
      // budget, not a stage of the run; the machine's share in it measured like a stage's.
      expect(summary.control?.windows.map((w) => w.stage)).toEqual(['control-1']);
      expect(summary.control?.windows[0]?.reads.count).toBeGreaterThan(0);
      expect(summary.control?.latencyBudgetMs).toBe(summary.targets.latencyBudgetMs);
      expect(summary.control?.overBudget).toBe(summary.control?.windows.filter((w) => w.overBudget).length);
      expect(Object.keys(summary.latency.stages).filter((stage) => stage.startsWith('control'))).toEqual([]);
      expect(summary.cpu.machine?.stages['control-1']?.busyCores).toBeGreaterThan(0);
      // The warm-up is counted (offered, sent) but belongs to no stage; the targets are judged against the baseline.
      expect(summary.latency.warmup.count).toBeGreaterThan(0);
      expect(summary.latency.stages.warmup).toBeUndefined();
      expect(summary.targets.latencyBudgetMs).toBe(
        Math.max(2 * (summary.latency.baseline.p99Ms as number), (summary.latency.baseline.p99Ms as number) + 100),
      );
      expect(summary.targets.met).toBe(summary.targets.missed.length === 0);
      for (const stage of ['preflight', 'provision', 'replicate', 'verify', 'shift', 'cutover', 'bake']) {
        expect(summary.latency.stages[stage]?.reads.count, stage).toBeGreaterThan(0);
        expect(summary.stages[stage]?.durationMs, stage).toEqual(expect.any(Number));
      }
      expect(summary.reconciliation.router.errors).toBe(0);
      expect(summary.cpu.perRequestMs.router).toBeGreaterThan(0);
      // The machine's busy cores per stage, from the baseline through the stages the load ran in.
      expect(summary.cpu.machine?.cores).toBeGreaterThanOrEqual(1);
      for (const stage of ['baseline', 'preflight', 'replicate', 'verify', 'cutover']) {
        expect(summary.cpu.machine?.stages[stage]?.busyCores, stage).toBeGreaterThan(0);
        expect(summary.cpu.machine?.stages[stage]?.busyCores, stage).toBeLessThanOrEqual(
          summary.cpu.machine?.cores ?? 0,
        );
      }
      // With pressure stall information (this machine's kernel has it), each stage's waits as shares of its time.
      if (fs.existsSync('/proc/pressure/cpu'))
        for (const stage of ['baseline', 'replicate', 'cutover']) {
          const m = summary.cpu.machine?.stages[stage];
          expect(m?.cpuWaitShare, stage).toBeGreaterThanOrEqual(0);
          expect(m?.cpuWaitShare, stage).toBeLessThanOrEqual(1);
          expect(m?.ioWaitShare, stage).toBeGreaterThanOrEqual(0);
        }
      // The router sampled from preflight on: the trail has run samples before the first shift step.
      const trailLines = fs
        .readFileSync(path.join(summary.stateDir, 'audit', 'trail.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { action?: string; subject?: string; details?: unknown });
      const firstShift = trailLines.findIndex(
        (r) => r.action === 'stage-started' && JSON.stringify(r.details).includes('"shift"'),
      );
      const early = trailLines.slice(0, firstShift).filter((r) => r.action === 'traffic-sample' && r.subject === 'run');
      expect(early.length).toBeGreaterThan(5);
      // The report's write pause is the clients' (the trail's client-traffic record), the router's beside it.
      const clientTraffic = trailLines.filter((r) => r.action === 'client-traffic').at(-1);
      expect(clientTraffic?.details).toMatchObject({ writePauseMs: summary.cutover.writePauseMs });
      const reportHtml = fs.readFileSync(summary.report, 'utf8');
      expect(reportHtml).toContain(`at the clients; router ${formatMs(summary.cutover.routerPauseMs)}`);
      // One stream (the engine's), not two: the whole-run windows add up to no more than the time they span.
      const runSamples = trailLines.filter(
        (r) => r.action === 'traffic-sample' && r.subject === 'run',
      ) as unknown as Array<{ time: string; details: { windowMs: number } }>;
      const spannedMs =
        Date.parse(runSamples.at(-1)?.time ?? '') -
        Date.parse(runSamples[0]?.time ?? '') +
        (runSamples[0]?.details.windowMs ?? 0);
      expect(runSamples.reduce((ms, r) => ms + r.details.windowMs, 0)).toBeLessThanOrEqual(spannedMs + 1000);
      // Issue 16: the plan's blue/green rotation ran once, inside the bake (above: no failed request,
      // nothing lost): demo_app_green went live, every session of the target's service used it by
      // the bake's end, and demo_app_blue can no longer log in.
      const ofRun = trailLines.filter((r) => (r as { runId?: string }).runId === summary.runId);
      const at = (action: string, detail?: string): number =>
        ofRun.findIndex(
          (r) => r.action === action && (detail === undefined || JSON.stringify(r.details).includes(detail)),
        );
      const rotated = at('pg-credentials-rotated');
      expect(ofRun.filter((r) => r.action === 'pg-credentials-rotated')).toHaveLength(1);
      expect(ofRun[rotated]?.details).toMatchObject({
        live: 'demo_app_green',
        retiring: 'demo_app_blue',
        sites: ['source', 'target'],
      });
      expect(at('stage-started', '"bake"')).toBeGreaterThanOrEqual(0);
      expect(at('stage-started', '"bake"')).toBeLessThan(rotated);
      expect(rotated).toBeLessThan(at('pg-credentials-retired', '"demo_app_blue"'));
      expect(at('pg-credentials-retired')).toBeLessThan(at('stage-done', '"bake"'));
      expect(summary.credentials).toEqual({
        rotated: 1,
        live: 'demo_app_green',
        retired: ['demo_app_blue'],
        targetSessions: { demo_app_green: expect.any(Number) },
        canLogin: ['demo_app_green'],
      });
      expect(summary.audit.records).toBeGreaterThan(50);
      expect(fs.readFileSync(summary.report, 'utf8')).toContain('<svg');
      // This demo's own files are in the newest demo-<time>/ (the SIGKILLed demo left the other).
      const demoDir =
        fs
          .readdirSync(summary.stateDir)
          .filter((name) => name.startsWith('demo-'))
          .sort()
          .at(-1) ?? '';
      expect(fs.readFileSync(path.join(summary.stateDir, demoDir, 'plan.yaml'), 'utf8')).toMatch(
        /fromEnv: HANDOFF_DEMO_SOURCE_SHOP_URL/,
      );
      // Everything this demo started is gone too.
      expect(records(stateDir).filter(stillRunning)).toEqual([]);
      // No database password anywhere: output, plan, logs, state store, audit trail, report.
      const withPassword = /postgres(?:ql)?:\/\/[^:/\s"'@]+:(?!\*\*\*@)[^@\s"']+@/;
      expect(result.stdout + result.stderr).not.toMatch(withPassword);
      const files = listFiles(summary.stateDir).filter((f) => path.basename(f) !== 'router-token');
      expect(files.length).toBeGreaterThan(5);
      for (const file of files) expect(fs.readFileSync(file).toString('latin1'), file).not.toMatch(withPassword);
    },
  );

  it(
    'rolls back by its gates when the target answers 5xx, within 5 s, with nothing lost on the source',
    { timeout: 600_000 },
    async () => {
      const stateDir = tempStateDir();
      const result = await runCli(
        ['demo', '--state-dir', stateDir, ...DEMO_ARGS, '--inject-target-errors', '0.2', '-o', 'json'],
        { timeoutMs: 540_000 },
      );
      expect(result.code, result.stderr).toBe(0);
      const summary = parse(result.stdout);
      expect(summary).toMatchObject({
        ok: true,
        writes: { lost: 0, duplicated: 0 },
        readYourWritesViolations: 0,
        invariants: { bankTotalPreserved: true },
        audit: { valid: true },
        cutover: { writePauseMs: null },
        rollback: { happened: true, stage: 'shift' },
      });
      expect(summary.rollback.reason).toMatch(/^gate shift-\d+: check errors failed/);
      expect(summary.requests.failed).toBeGreaterThan(0);
      expect(summary.rollback.detectionMs).toEqual(expect.any(Number));
      expect(summary.rollback.detectionMs).toBeLessThan(5000);
      const trail = fs.readFileSync(path.join(summary.stateDir, 'audit', 'trail.jsonl'), 'utf8');
      expect(trail).toMatch(/"action":"gate-decided".*"outcome":"rollback"/);
      expect(records(stateDir).filter(stillRunning)).toEqual([]);
    },
  );

  it(
    'with --keep, exits leaving the sites and the router running, and prints their addresses',
    { timeout: 300_000 },
    async () => {
      const stateDir = tempStateDir();
      const result = await runCli(['demo', '--state-dir', stateDir, ...DEMO_ARGS, '--keep', '-o', 'json'], {
        timeoutMs: 240_000,
      });
      const left = records(stateDir).filter(stillRunning);
      try {
        const summary = JSON.parse(result.stdout) as Summary & { addresses: Record<string, string> };
        expectCleanRun(result, summary);
        expect(left.map((r) => r.name).sort()).toEqual([
          'postgres-source',
          'postgres-target',
          'router',
          'target/shop-0',
        ]);
        const answer = await fetch(`${summary.addresses.router}/accounts/1`, { signal: AbortSignal.timeout(10_000) });
        expect(answer.status).toBe(200);
        expect(answer.headers.get('x-site')).toBe('target');
      } finally {
        for (const r of left) process.kill(r.pid, 'SIGKILL');
        // The services' credentials files stay with --keep (they still read them): the address says where.
        const credentialsDir = (JSON.parse(result.stdout || '{}') as { addresses?: Record<string, string> }).addresses
          ?.credentialsDir;
        if (credentialsDir?.includes('handoff-demo-credentials-')) fs.rmSync(credentialsDir, { recursive: true });
      }
    },
  );

  it(
    'ends its PostgreSQL servers when stopped while they start up (SIGTERM), and says so without a stack trace',
    { timeout: 120_000 },
    async () => {
      // The servers were recorded only once they accepted connections: a SIGTERM that landed while
      // they started found nothing to end, and both kept running after the demo exited.
      const stateDir = tempStateDir();
      /** Processes whose command line names this state directory (the servers' data directories are in it). */
      const mine = (): string[] =>
        fs
          .readdirSync('/proc')
          .filter((entry) => /^\d+$/.test(entry))
          .flatMap((pid) => {
            try {
              const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
              return cmdline.includes(stateDir) && cmdline.includes('postgres') ? [`${pid}: ${cmdline}`] : [];
            } catch {
              return [];
            }
          });
      const demo = spawnDemo(stateDir);
      // The moment the first server's process exists (its initdb or the server itself, not yet
      // accepting connections): the window in which nothing of it was recorded.
      const spawnedBy = Date.now() + 60_000;
      while (mine().length === 0) {
        if (demo.child.exitCode !== null || Date.now() > spawnedBy)
          throw new Error(`no PostgreSQL server was started: ${demo.stderr()}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      demo.child.kill('SIGTERM');
      const exit = await demo.exited;
      expect(exit.code).toBe(143);
      const deadline = Date.now() + 15_000;
      while (mine().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(mine()).toEqual([]);
      expect(exit.stderr).toContain('SIGTERM: stopping every process the demo started');
      expect(exit.stderr).not.toContain('internal error');
      expect(exit.stderr).not.toMatch(/\n\s+at /);
    },
  );

  it('ends every process it started when interrupted with SIGINT', { timeout: 300_000 }, async () => {
    const stateDir = tempStateDir();
    const demo = await startDemoUntilRunning(stateDir);
    expect(demo.running.every(stillRunning)).toBe(true);
    demo.child.kill('SIGINT');
    const exit = await demo.exited;
    expect(exit.code).toBe(130);
    expect(demo.running.filter(stillRunning)).toEqual([]);
    expect(records(stateDir).filter(stillRunning)).toEqual([]);
    // The services' credentials files (database URLs with passwords) went with it.
    expect(
      fs.readdirSync(os.tmpdir()).filter((name) => name.startsWith(`handoff-demo-credentials-${demo.child.pid}-`)),
    ).toEqual([]);
  });
});
