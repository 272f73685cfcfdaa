/**
 * `handoff status --watch` during a real run on two embedded PostgreSQL servers: in a terminal
 * (a tmux pane, read with capture-pane) it shows a progress bar while the verification goes, redrawn
 * in place, and exits with the run's code when the run stops; without a terminal it prints plain
 * lines (no escape codes) with the same progress figures. The verification is made to take a few
 * seconds by small chunks (100 rows each) over 150,000 rows and a rest of five times each chunk's time
 * after it (`niceRatio: 5`; without it the 1,500 chunks take under a second, which a loaded machine's
 * watcher can miss entirely); an approval before verify holds the run until both watchers are up (this
 * machine may take seconds to start a process).
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { repoRoot, runCli, tsxLoader, type CliResult } from '../support/cli.js';
import { startTestPostgresAll, type TestPostgres } from '../support/postgres.js';
import { makeTempDir } from '../support/tmp.js';

const ROWS = 150_000;
const entry = path.join(repoRoot, 'src', 'cli', 'entry.ts');
const socket = `handoff-watch-${process.pid}`;

let source: TestPostgres;
let target: TestPostgres;
const tmp = makeTempDir('handoff-watch-');
const stateDir = path.join(tmp.dir, 'state');
const planFile = path.join(tmp.dir, 'plan.yaml');

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', timeout: 10_000 });
}

beforeAll(async () => {
  [source, target] = await startTestPostgresAll([{}, {}]);
  for (const server of [source, target]) {
    await server.createDatabase('app');
    await server.query(`create table public.orders (id bigint primary key, customer text not null)`, [], 'app');
  }
  await source.query(
    `insert into public.orders select g, 'customer-' || g from generate_series(1, ${ROWS}) g; analyze public.orders`,
    [],
    'app',
  );
  fs.writeFileSync(
    planFile,
    `apiVersion: handoff.dev/v1alpha1
kind: Migration
metadata:
  name: watch-me
spec:
  source:
    platform: { kind: local }
    databases:
      app: { url: { fromEnv: SOURCE_APP_DB } }
  target:
    platform: { kind: local }
    databases:
      app: { url: { fromEnv: TARGET_APP_DB } }
  data:
    - database: app
      tables: ["public.*"]
      verify: { chunkRows: 100 }
      throttle: { niceRatio: 5 }
  approvals:
    - { before: verify, role: db-owner, timeout: 5m }
  rollback: { automatic: true }
`,
  );
}, 120_000);

afterAll(async () => {
  try {
    tmux('kill-server');
  } catch {
    // not started, or already gone
  }
  await Promise.all([source?.close(), target?.close()]);
  tmp.cleanup();
});

/** Runs `handoff ARGS` in this process (no terminal); returns its exit code and output. */
async function inProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main([...args, '--state-dir', stateDir], {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    env: { ...process.env, HANDOFF_STATE_DIR: '' },
    cwd: tmp.dir,
    isTTY: false,
  });
  return { code, stdout, stderr };
}

/** Polls the state directory (bounded) until it has a run; returns its id. */
async function firstRun(): Promise<string> {
  const deadline = Date.now() + 90_000;
  while (Date.now() < deadline) {
    if (fs.existsSync(path.join(stateDir, 'state.db'))) {
      const { stdout } = await inProcess(['status', '-o', 'json']);
      const id = (JSON.parse(stdout || '{"runs":[]}') as { runs: Array<{ id: string }> }).runs[0]?.id;
      if (id) return id;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('no run appeared in the state directory within 90 s');
}

/**
 * `handoff status --watch RUN` without a terminal, in a child process (its stderr is a pipe).
 * `started` resolves once it printed its first line, so the test can let verification begin only
 * when this watcher is following too (its start-up alone can take seconds on a loaded machine).
 */
function watchPlain(id: string): { started: Promise<void>; done: Promise<CliResult> } {
  let stdout = '';
  let stderr = '';
  const child = spawn(
    process.execPath,
    ['--import', tsxLoader, entry, 'status', '--watch', id, '--timeout', '150s', '--state-dir', stateDir],
    { cwd: repoRoot, env: { ...process.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const timer = setTimeout(() => child.kill('SIGKILL'), 170_000);
  const started = new Promise<void>((resolve) => {
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('\n')) resolve();
    });
    child.once('exit', () => resolve());
  });
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const startedAt = Date.now();
  const done = new Promise<CliResult>((resolve) => {
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, elapsedMs: Date.now() - startedAt });
    });
  });
  return { started, done };
}

describe('handoff status --watch', () => {
  it(
    'in a terminal shows the approval awaited with its command, then a progress bar during verification, redraws in place, exits 0 when the run stops at --until',
    { timeout: 240_000 },
    async () => {
      const dbEnv = { SOURCE_APP_DB: source.url('app'), TARGET_APP_DB: target.url('app'), HANDOFF_STATE_DIR: '' };
      const running = runCli(['run', '-f', planFile, '--until', 'verify', '-o', 'json', '--state-dir', stateDir], {
        env: dbEnv,
        timeoutMs: 200_000,
      });
      const id = await firstRun();
      const plain = watchPlain(id);
      let plainStarted = false;
      void plain.started.then(() => (plainStarted = true));

      const command = [process.execPath, '--import', tsxLoader, entry, 'status', '--watch', id, '--timeout', '150s']
        .concat(['--state-dir', stateDir])
        .map((part) => `'${part}'`)
        .join(' ');
      tmux(
        'new-session',
        '-d',
        '-s',
        'watch',
        '-x',
        '110',
        '-y',
        '30',
        '-c',
        repoRoot,
        `env -u NO_COLOR NODE_OPTIONS= ${command}; echo "watch exited $?"; sleep 120`,
      );
      const screens: string[] = [];
      let bar: string | undefined;
      let approved = false;
      const deadline = Date.now() + 180_000;
      for (;;) {
        const screen = tmux('capture-pane', '-p', '-t', 'watch');
        if (screen !== screens[screens.length - 1]) screens.push(screen);
        // The run waits for its approval before verify (so both watchers are up when verification starts).
        if (
          !approved &&
          plainStarted &&
          screen.includes(`approval waiting: verify needs role db-owner: handoff approve ${id}`)
        ) {
          const approve = await inProcess(['approve', id, '--stage', 'verify', '--role', 'db-owner', '--as', 'alice']);
          expect(approve.code, approve.stderr).toBe(0);
          approved = true;
        }
        bar ??= screen.split('\n').find((line) => /^verify .*\[█*░+\]\s+\d{1,2} % .*rows\/s/.test(line));
        if (/watch exited \d+/.test(screen)) break;
        if (Date.now() > deadline) throw new Error(`the watch did not end; last screen:\n${screen}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const last = screens[screens.length - 1] as string;
      const outcome = await running;
      expect(outcome.code, outcome.stderr).toBe(0);
      expect(JSON.parse(outcome.stdout)).toMatchObject({ state: 'paused', stage: 'verify' });

      // A bar part-way through the verification, with its percent below 100, the rate and the time left.
      expect(approved, `the approval was never shown; last screen:\n${last}`).toBe(true);
      expect(bar, `no verification bar in ${screens.length} screens; last:\n${last}`).toBeDefined();
      expect(bar).toMatch(/verify +app public\.orders +\[█*░+\] +\d{1,2} % +[\d,]+\/1,50\d chunks +[\d,]+ rows\/s/);
      // Redrawn in place: every screen holds the header once, never a trail of earlier frames.
      for (const screen of screens) expect(screen.match(/handoff run /g)?.length ?? 0).toBeLessThanOrEqual(1);
      // The last frame: the run paused at its --until stage, the table verified, the watch's exit code 0.
      expect(last).toMatch(new RegExp(`handoff run ${id} \\(watch-me\\): paused at verify`));
      expect(last).toMatch(/verify +app public\.orders +\[█+\] 100 % +1,50\d\/1,50\d chunks +done/);
      expect(last).toMatch(/✓ preflight .*✓ replicate .*✓ verify/);
      expect(last).toContain('watch exited 0');
      for (const line of last.split('\n')) expect([...line].length).toBeLessThanOrEqual(110);

      // Without a terminal: plain lines, no escape codes, the same progress, the same exit code.
      const lines = await plain.done;
      expect(lines.code, lines.stderr).toBe(0);
      expect(lines.stderr).not.toContain('\x1b');
      expect(lines.stderr).toMatch(/^\d\d:\d\d:\d\d verify app public\.orders \d{1,2} % \([\d,]+\/1,50\d chunks/m);
      expect(lines.stderr).toMatch(/verified public\.orders: identical \(150,000 rows\)/);
      expect(lines.stderr.trimEnd().split('\n').at(-1)).toBe(
        `run ${id} (watch-me): paused at stage verify (until verify)`,
      );
      expect(lines.stdout).toBe('');
    },
  );

  it('a run that is already stopped: one summary line, exit 0; an unknown run exits 2 and draws nothing', async () => {
    const id = await firstRun();
    const again = await inProcess(['status', '--watch', id, '-o', 'json']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr.trim()).toBe(`run ${id} (watch-me): paused at stage verify (until verify)`);
    expect(JSON.parse(again.stdout)).toMatchObject({ id, state: 'paused', stage: 'verify' });
    const unknown = await inProcess(['status', '--watch', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).not.toContain('\x1b');
    const usage = await inProcess(['status', '--timeout', '5s', id]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--timeout: only with --watch');
    const bad = await inProcess(['status', '--watch', id, '--timeout', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--timeout: "soon" is not a duration');
  });
});
