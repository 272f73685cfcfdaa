/**
 * A rollback drill's run: a plan file whose two sites are drill sites (test/support/drill-site.ts)
 * behind the built-in router the engine starts in-process at `listen`, executed in this process
 * with `startRun` (the real stages, store, audit trail and executor), and what it leaves: the
 * events with the `performance.now()` at which each was emitted, the audit trail as written, and
 * `handoff status` of the run. The run time (and so the router) is the drill's own, so the router
 * keeps routing after the run ends and the drill can see where reads go; `close()` stops it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { auditRecordSchema, type StoredRecord } from '../../src/audit/format.js';
import { main } from '../../src/cli/main.js';
import type { HandoffEvent } from '../../src/common/events.js';
import { createSilentLogger } from '../../src/common/logger.js';
import { freePort } from '../../src/common/net.js';
import { createRedactor } from '../../src/common/redact.js';
import type { RunOutcome } from '../../src/engine/executor.js';
import { createRuntime, type Runtime } from '../../src/engine/runtime.js';
import { resumeRun } from '../../src/engine/manage.js';
import type { EngineEnv } from '../../src/engine/run-session.js';
import { startRun } from '../../src/engine/start.js';
import { loadPlanFile } from '../../src/plan/load.js';
import { makeTempDir } from './tmp.js';

export interface DrillPlanOptions {
  name: string;
  sourceUrl: string;
  targetUrl: string;
  steps: number[];
  bake: string;
  /** YAML of `spec.analysis`, indented by four spaces (its keys at column 4). */
  analysis: string;
}

export interface TimedEvent {
  event: HandoffEvent;
  /** `performance.now()` when the event was emitted. */
  at: number;
}

export interface Drill {
  dir: string;
  plan: string;
  stateDir: string;
  /** Base URL of the router's proxy (the plan's `listen`). */
  routerUrl: string;
  events: TimedEvent[];
  /** Called with every event as it is emitted (the drills inject their faults from here). */
  onEvent(listener: (event: HandoffEvent) => void): void;
  run(): Promise<RunOutcome>;
  /** `handoff resume RUN`, in this process with the same run time (so the same router). */
  resume(runId: string): Promise<RunOutcome>;
  /** The audit trail as written (every line must be a whole record). */
  trail(): StoredRecord[];
  /** The records written so far by a run that may still be writing (an unfinished last line is left out). */
  trailSoFar(): StoredRecord[];
  /** The CLI in this process (`handoff ARGS --state-dir <the drill's>`), its real parsing and exit codes. */
  cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** `handoff status RUN -o json`. */
  status(runId: string): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Stops the router and removes the directory (idempotent). */
  close(): Promise<void>;
}

function readTrail(stateDir: string, partial: boolean): StoredRecord[] {
  const file = path.join(stateDir, 'audit', 'trail.jsonl');
  if (partial && !fs.existsSync(file)) return [];
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  // The text after the last newline is a record still being written (or nothing).
  const whole = partial ? lines.slice(0, -1) : lines;
  return whole.filter((line) => line.trim() !== '').map((line) => auditRecordSchema.parse(JSON.parse(line)));
}

export async function prepareDrill(options: DrillPlanOptions): Promise<Drill> {
  const tmp = makeTempDir('handoff-drill-');
  const port = await freePort();
  const plan = path.join(tmp.dir, 'plan.yaml');
  fs.writeFileSync(
    plan,
    `apiVersion: handoff.dev/v1alpha1
kind: Migration
metadata: { name: ${options.name} }
spec:
  source: { platform: { kind: local }, endpoint: "${options.sourceUrl}" }
  target: { platform: { kind: local }, endpoint: "${options.targetUrl}" }
  traffic:
    router: { kind: builtin, listen: "127.0.0.1:${port}" }
    reads: { steps: [${options.steps.join(', ')}], bake: ${options.bake} }
  analysis:
${options.analysis}
`,
  );
  const stateDir = path.join(tmp.dir, 'state');
  const events: TimedEvent[] = [];
  const listeners: Array<(event: HandoffEvent) => void> = [];
  const redactor = createRedactor();
  let runtime: Runtime | null = null;
  let closed = false;
  const engineEnv = (): EngineEnv => {
    runtime ??= createRuntime({ stateDir });
    return {
      stateDir,
      env: { ...process.env, HANDOFF_STATE_DIR: '' },
      cwd: tmp.dir,
      redactor,
      logger: createSilentLogger(),
      actor: 'drill',
      pollMs: 100,
      report: false,
      runtime,
      observe: (bus) =>
        void bus.on((event) => {
          events.push({ event, at: performance.now() });
          for (const listener of listeners) listener(event);
        }),
    };
  };
  const cli = async (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
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
  };
  return {
    dir: tmp.dir,
    plan,
    stateDir,
    routerUrl: `http://127.0.0.1:${port}`,
    events,
    onEvent(listener) {
      listeners.push(listener);
    },
    run() {
      return startRun(engineEnv(), loadPlanFile(plan), null);
    },
    resume(runId) {
      return resumeRun(engineEnv(), runId);
    },
    trail() {
      return readTrail(stateDir, false);
    },
    trailSoFar() {
      return readTrail(stateDir, true);
    },
    cli,
    status(runId) {
      return cli(['status', runId, '-o', 'json']);
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await runtime?.close();
      } finally {
        tmp.cleanup();
      }
    },
  };
}
