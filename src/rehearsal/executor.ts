/**
 * The rehearsal's executor: the real `handoff run` as a child process (JSON logs at debug level on
 * stderr, which is the run's trail as it happens: every engine event is a line whose `msg` is its
 * type), and `handoff resume <run>` whenever it was killed and is restarted. Each child is recorded
 * in the process registry and bounded; `finished` resolves when an executor ends by itself (not by a
 * signal), with its exit code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { isAlive, type ProcessRegistry } from '../common/children.js';
import { TimeoutError } from '../common/errors.js';
import type { Redactor } from '../common/redact.js';
import { openStore } from '../store/store.js';
import type { TrailEvent } from './schedule.js';

export interface RehearsalExecutorOptions {
  /** How to run `handoff` (this same program). */
  handoff: { command: string; args: string[] };
  planFile: string;
  stateDir: string;
  /** `run` the plan, or `resume` this run. */
  first: { run: true } | { resume: string };
  /** Stop after this stage (`--until`), on the first executor and every resume. */
  until?: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  registry: ProcessRegistry;
  redactor: Redactor;
  /** Every executor's stderr (its JSON log lines, redacted by the executor itself) is appended here. */
  logFile: string;
  /** Bound on the whole rehearsal's run (every executor together). */
  timeoutMs: number;
  onEvent(event: TrailEvent): void;
  /** Told when an executor ends by a signal (killed or not) and when one is started again. */
  onNote?: (text: string) => void;
}

export interface ExecutorEnd {
  code: number;
  runId: string | null;
  /** Executors started (the first run and each resume). */
  started: number;
  /** The last stderr lines of the last executor (redacted), for messages. */
  stderrTail: string;
}

export interface RehearsalExecutor {
  pid(): number | undefined;
  /** Starts `handoff resume` when no executor runs (idempotent); resolves once it is running. */
  restart(): Promise<void>;
  readonly finished: Promise<ExecutorEnd>;
  /** Ends the executor running now, if any (bounded). */
  stop(): Promise<void>;
}

/** Resumes a killed executor by itself if no injector restarted it within this long. */
const WATCHDOG_MS = 10_000;
/** How long `restart` waits for an executor that is being killed to exit. */
const EXIT_WAIT_MS = 2_000;

function runIdOf(stateDir: string, redactor: Redactor, known: ReadonlySet<string>): string | null {
  const store = openStore({ stateDir, create: false, redactor });
  if (!store) return null;
  try {
    return store.runs.list().find((run) => !known.has(run.id))?.id ?? null;
  } finally {
    store.close();
  }
}

function existingRuns(stateDir: string, redactor: Redactor): Set<string> {
  const store = openStore({ stateDir, create: false, redactor });
  if (!store) return new Set();
  try {
    return new Set(store.runs.list().map((run) => run.id));
  } finally {
    store.close();
  }
}

export function startRehearsalExecutor(options: RehearsalExecutorOptions): RehearsalExecutor {
  const known = existingRuns(options.stateDir, options.redactor);
  let child: ChildProcess | null = null;
  let started = 0;
  let runId: string | null = 'resume' in options.first ? options.first.resume : null;
  const until = options.until === undefined ? [] : ['--until', options.until];
  const firstArgs = runId ? ['resume', runId] : ['run', '-f', options.planFile];
  let tail = '';
  let done = false;
  let watchdog: NodeJS.Timeout | undefined;
  let resolveFinished: (end: ExecutorEnd) => void = () => undefined;
  let rejectFinished: (error: Error) => void = () => undefined;
  const finished = new Promise<ExecutorEnd>((resolve, reject) => {
    resolveFinished = resolve;
    rejectFinished = reject;
  });
  finished.catch(() => undefined);

  const launch = (args: string[]): Promise<void> =>
    new Promise((resolve, reject) => {
      started += 1;
      const spawned = spawn(
        options.handoff.command,
        [
          ...options.handoff.args,
          ...args,
          ...until,
          '--state-dir',
          options.stateDir,
          '--log-format',
          'json',
          '--log-level',
          'debug',
          '-o',
          'json',
        ],
        { cwd: options.cwd, env: { ...options.env, NODE_OPTIONS: '' }, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      child = spawned;
      const log = fs.createWriteStream(options.logFile, { flags: 'a', mode: 0o600 });
      spawned.stderr?.pipe(log);
      let pending = '';
      spawned.stderr?.on('data', (chunk: Buffer) => {
        const text = chunk.toString();
        tail = (tail + text).slice(-4000);
        pending += text;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          let entry: { msg?: unknown; stage?: unknown; step?: unknown } | null;
          try {
            entry = JSON.parse(line) as { msg?: unknown; stage?: unknown; step?: unknown } | null;
          } catch {
            continue;
          }
          if (entry === null || typeof entry !== 'object' || typeof entry.msg !== 'string') continue;
          options.onEvent({
            type: entry.msg,
            ...(typeof entry.stage === 'string' ? { stage: entry.stage } : {}),
            ...(typeof entry.step === 'string' ? { step: entry.step } : {}),
          });
        }
      });
      spawned.once('error', reject);
      spawned.once('spawn', () => {
        options.registry.track(spawned.pid as number, { name: 'executor', stopSignal: 'SIGTERM' });
        resolve();
      });
      // `exit`, not `close`: a grandchild holding the stderr pipe must not keep the executor "running".
      spawned.once('exit', (code, signal) => {
        setTimeout(() => spawned.stderr?.destroy(), 1000).unref();
        if (spawned.pid !== undefined) options.registry.untrack(spawned.pid);
        if (child === spawned) child = null;
        runId ??= runIdOf(options.stateDir, options.redactor, known);
        if (done) return;
        if (signal !== null) {
          options.onNote?.(`the executor ended by ${signal}`);
          clearTimeout(watchdog);
          watchdog = setTimeout(() => {
            if (child === null && !done) {
              options.onNote?.(`no one restarted the executor within ${WATCHDOG_MS} ms: resuming it`);
              void restart().catch((error: Error) => rejectFinished(error));
            }
          }, WATCHDOG_MS);
          return;
        }
        done = true;
        clearTimeout(bound);
        resolveFinished({ code: code ?? 1, runId, started, stderrTail: options.redactor.redact(tail) });
      });
    });

  const restart = async (): Promise<void> => {
    // A child just killed may not have been reaped yet: wait (bounded) for its exit before judging.
    const dying = child;
    if (dying !== null && dying.exitCode === null && dying.signalCode === null) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, EXIT_WAIT_MS);
        dying.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if (done || (child !== null && child.pid !== undefined && isAlive(child.pid))) return;
    clearTimeout(watchdog);
    runId ??= runIdOf(options.stateDir, options.redactor, known);
    options.onNote?.(runId ? `resuming run ${runId}` : 'starting the run again (no run was recorded yet)');
    await launch(runId ? ['resume', runId] : ['run', '-f', options.planFile]);
  };

  const bound = setTimeout(() => {
    done = true;
    clearTimeout(watchdog);
    child?.kill('SIGKILL');
    rejectFinished(new TimeoutError(`the rehearsal's run did not finish within ${options.timeoutMs} ms`));
  }, options.timeoutMs);
  launch(firstArgs).catch((error: Error) => {
    done = true;
    clearTimeout(bound);
    rejectFinished(error);
  });

  return {
    pid: () => (child?.pid !== undefined && isAlive(child.pid) ? child.pid : undefined),
    restart,
    finished,
    async stop() {
      done = true;
      clearTimeout(bound);
      clearTimeout(watchdog);
      const running = child;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
      running.kill('SIGCONT');
      running.kill('SIGTERM');
      const timer = setTimeout(() => running.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
