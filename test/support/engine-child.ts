/**
 * A handoff executor in its own process, for crash, lease and secret-leak tests. Run it with
 * `node --import tsx test/support/engine-child.ts`; it is configured by environment variables:
 *
 *   CHILD_MODE      start (run the plan, resuming its unfinished run) | resume | rollback
 *   CHILD_PLAN      the plan file (start)            CHILD_RUN   the run id (resume, rollback)
 *   CHILD_STATE     the state directory              CHILD_EFFECTS  where test steps record side effects
 *   CHILD_REGISTRY  crash | crash-rollback | canary                CHILD_LEASE_TTL_MS  the lease's time to live
 *   CHILD_BLOCK_AT  at this boundary, print `BLOCKED n` and block the whole process (the test SIGKILLs it,
 *                   or it wakes when CHILD_WAKE_FILE exists or after CHILD_BLOCK_MS, like after SIGCONT)
 *
 * Boundaries are the run's step and stage events (BOUNDARY_EVENTS, each printed as
 * `BOUNDARY n TYPE SUBJECT` after the state store committed it), plus `effect` / `undo-effect` inside
 * each crash-registry step, after its side effect and before the engine records it. The registry
 * `crash-rollback` adds a last step that fails, so the run rolls back.
 * The last line is `RESULT {json}` or `ERROR {json}`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { exitCodeFor, HandoffError, messageOf } from '../../src/common/errors.js';
import { createLogger } from '../../src/common/logger.js';
import { createRedactor } from '../../src/common/redact.js';
import { loadPlanFile } from '../../src/plan/load.js';
import type { StageName } from '../../src/plan/schema.js';
import { resumeRun, rollbackCommand } from '../../src/engine/manage.js';
import type { EngineEnv } from '../../src/engine/run-session.js';
import { startRun } from '../../src/engine/start.js';
import type { Step, StepContext } from '../../src/engine/step.js';
import type { Stage, StageRegistry } from '../../src/engine/stage.js';

const env = process.env;
const effectsDir = env.CHILD_EFFECTS ?? '';
const blockAt = env.CHILD_BLOCK_AT ? Number(env.CHILD_BLOCK_AT) : null;
let boundaries = 0;

function line(text: string): void {
  fs.writeSync(1, `${text}\n`);
}

function boundary(type: string, subject: string): void {
  boundaries++;
  line(`BOUNDARY ${boundaries} ${type} ${subject}`);
  if (boundaries === blockAt) {
    line(`BLOCKED ${boundaries}`);
    // Blocks the event loop entirely (no heartbeat, no timers), like SIGSTOP, until CHILD_WAKE_FILE exists.
    const cell = new Int32Array(new SharedArrayBuffer(4));
    const until = Date.now() + Number(env.CHILD_BLOCK_MS ?? 120_000);
    while (Date.now() < until && !(env.CHILD_WAKE_FILE && fs.existsSync(env.CHILD_WAKE_FILE)))
      Atomics.wait(cell, 0, 0, 50);
    line(`WOKE ${boundaries}`);
  }
}

/** "Create if not exists", as a real adapter applies a keyed change: applied at most once per key. */
function applyOnce(file: string, key: string): boolean {
  const target = path.join(effectsDir, file);
  const existing = fs.existsSync(target) ? fs.readFileSync(target, 'utf8').split('\n') : [];
  if (existing.includes(key)) return false;
  fs.appendFileSync(target, `${key}\n`);
  return true;
}

function recordedStep(name: string): Step {
  return {
    name,
    run(ctx: StepContext) {
      fs.appendFileSync(path.join(effectsDir, 'attempts.log'), `${ctx.key}\n`);
      const applied = applyOnce('effects.log', ctx.key);
      boundary('effect', ctx.key);
      return Promise.resolve({ applied });
    },
    undo(ctx: StepContext) {
      fs.appendFileSync(path.join(effectsDir, 'undo-attempts.log'), `${ctx.key}\n`);
      applyOnce('undone.log', ctx.key);
      boundary('undo-effect', ctx.key);
      return Promise.resolve();
    },
  };
}

/** A step whose check always fails after the others acted: the run rolls back. */
function failingStep(name: string): Step {
  return {
    ...recordedStep(name),
    run(ctx: StepContext) {
      fs.appendFileSync(path.join(effectsDir, 'attempts.log'), `${ctx.key}\n`);
      return Promise.reject(new Error(`${name}: the target lost writes`));
    },
  };
}

function crashRegistry(failAtEnd: boolean): StageRegistry {
  return () => {
    const stage = (name: StageName, steps: Step[], skip?: string): Stage => ({
      name,
      steps,
      ...(skip ? { skip } : {}),
    });
    return [
      stage('preflight', [recordedStep('check-sites')]),
      stage('provision', [recordedStep('create-workload')]),
      stage('replicate', [], 'the test plan has no data'),
      stage('cutover', [
        recordedStep('fence-source'),
        recordedStep('switch-writes'),
        ...(failAtEnd ? [failingStep('verify-writes')] : []),
      ]),
    ];
  };
}

/** A step that leaks its resolved secret every way it can: a debug log, an event, and its error. */
const canaryRegistry: StageRegistry = () => [
  {
    name: 'preflight',
    steps: [
      {
        name: 'leaky',
        run(ctx: StepContext) {
          const url = ctx.secrets.databaseUrl('source', 'app');
          ctx.logger.debug(`connecting to ${url}`, {
            url,
            b64: Buffer.from(url).toString('base64'),
            enc: encodeURIComponent(url),
          });
          ctx.events.emit('check-measured', {
            gate: 'preflight',
            check: 'canary',
            metric: 'canary.reachable',
            outcome: 'Error',
            verdict: 'holding',
            value: null,
            sourceValue: null,
            ratio: null,
            samples: 0,
            sourceSamples: null,
            threshold: null,
            failures: 0,
            consecutivePasses: 0,
            countedAs: 'hold',
            dryRun: false,
            critical: false,
            reason: `cannot reach ${url}`,
          });
          ctx.state.set('last-url', { url });
          throw new Error(`connection to ${url} refused (${Buffer.from(url).toString('base64')})`);
        },
      },
    ],
  },
];

const BOUNDARY_EVENTS: string[] = [
  'step-intent',
  'step-done',
  'step-failed',
  'stage-started',
  'stage-done',
  'stage-skipped',
  'rollback-started',
  'step-undone',
  'stage-undone',
];

async function main(): Promise<void> {
  const redactor = createRedactor();
  const logger = createLogger({
    format: 'json',
    level: 'debug',
    redactor,
    write: (text) => process.stderr.write(text),
  });
  const engineEnv: EngineEnv = {
    stateDir: env.CHILD_STATE ?? '',
    env,
    cwd: process.cwd(),
    redactor,
    logger,
    actor: 'tester',
    registry: env.CHILD_REGISTRY === 'canary' ? canaryRegistry : crashRegistry(env.CHILD_REGISTRY === 'crash-rollback'),
    lease: { ttlMs: Number(env.CHILD_LEASE_TTL_MS ?? 15_000) },
    pollMs: 50,
    observe(events) {
      events.on((event) => {
        if (event.type === 'run-started') line(`RUN ${event.runId}`);
        if (BOUNDARY_EVENTS.includes(event.type)) {
          boundary(event.type, event.subject);
        }
      });
    },
  };
  try {
    const mode = env.CHILD_MODE ?? 'start';
    const outcome =
      mode === 'start'
        ? await startRun(engineEnv, loadPlanFile(env.CHILD_PLAN ?? ''), null)
        : mode === 'resume'
          ? await resumeRun(engineEnv, env.CHILD_RUN ?? '')
          : await rollbackCommand(engineEnv, env.CHILD_RUN ?? '');
    line(
      `RESULT ${JSON.stringify({ state: outcome.run.state, run: outcome.run.id, error: outcome.run.error, completed: outcome.completed })}`,
    );
    process.exitCode = outcome.completed ? 0 : 1;
  } catch (error) {
    const code = error instanceof HandoffError ? error.code : 'internal';
    line(`ERROR ${JSON.stringify({ code, message: redactor.redact(messageOf(error)) })}`);
    process.exitCode = exitCodeFor(error);
  }
}

await main();
