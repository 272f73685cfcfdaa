/**
 * `handoff run` with a terminal on stderr (a tmux pane, read with capture-pane): the live view is
 * drawn while the run goes and left on the screen with the run's stages as they ended, the engine's
 * own lines (the run started, the report written) are printed above it, the events' log lines are
 * not, and the outcome line and exit code are those of a run without a terminal. The plan has no
 * data and local sites, so every stage is skipped or done in a second.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot, tsxLoader } from '../support/cli.js';
import { localPlan } from '../engine/fixtures.js';

const socket = `handoff-run-tty-${process.pid}`;
const fx = localPlan({ name: 'tty-run' });

function tmux(...args: string[]): string {
  return execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', timeout: 10_000 });
}

afterAll(() => {
  try {
    tmux('kill-server');
  } catch {
    // not started, or already gone
  }
  fx.cleanup();
});

describe('handoff run on a terminal', () => {
  it(
    'draws the live view and leaves it with the stages as they ended, the outcome line and exit 0',
    { timeout: 120_000 },
    async () => {
      const command = [process.execPath, '--import', tsxLoader, path.join(repoRoot, 'src', 'cli', 'entry.ts')]
        .concat(['run', '-f', fx.plan, '--state-dir', fx.stateDir])
        .map((part) => `'${part}'`)
        .join(' ');
      const env = "SOURCE_APP_DB='postgresql://app:source-pw-5678@127.0.0.1:5432/app' NO_COLOR=1 NODE_OPTIONS=";
      tmux(
        'new-session',
        '-d',
        '-s',
        'run',
        '-x',
        '100',
        '-y',
        '24',
        '-c',
        fx.dir,
        `env ${env} ${command}; echo "run exited $?"; sleep 60`,
      );
      let screen = '';
      const deadline = Date.now() + 100_000;
      while (!/run exited \d+/.test(screen)) {
        if (Date.now() > deadline) throw new Error(`the run did not end; last screen:\n${screen}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
        screen = tmux('capture-pane', '-p', '-t', 'run');
      }
      const lines = screen.split('\n');
      const header = lines.findIndex((line) =>
        /^handoff run tty-run-\S+ \(tty-run\): succeeded at finalize · /.test(line),
      );
      expect(header, screen).toBeGreaterThan(0);
      expect(lines[header + 1]).toMatch(/^✓ preflight .* ✓ finalize$/);
      // Above the view: the engine's own lines; no line per event.
      expect(lines.slice(0, header).join('\n')).toMatch(/INFO +started run tty-run-\S+ of plan tty-run/);
      expect(lines.slice(0, header).join('\n')).toMatch(/INFO +report written to /);
      expect(screen).not.toMatch(/INFO +(stage-started|step-done|run-finished)/);
      expect(screen).toMatch(/^run tty-run-\S+: succeeded at stage finalize$/m);
      expect(screen).toContain('run exited 0');
      expect(screen).not.toContain('source-pw-5678');
      expect(screen).not.toContain('target-pw-1234');
    },
  );
});
