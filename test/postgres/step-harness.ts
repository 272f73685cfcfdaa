/**
 * A tiny stand-in for the engine's executor in data-plane tests: a StepContext with durable-looking
 * state (in memory or in a JSON file), and run/undo of step lists in order, recording intent and done
 * like the executor does.
 */
import fs from 'node:fs';
import { createEventBus, type EventBus, type HandoffEvent } from '../../src/common/events.js';
import { createSilentLogger } from '../../src/common/logger.js';
import { createRedactor } from '../../src/common/redact.js';
import type { Step, StepContext } from '../../src/data/data-plane.js';
import { migration, type Migration } from '../../src/plan/schema.js';

export interface HarnessOptions {
  runId: string;
  database: string;
  sourceUrl: string;
  targetUrl: string;
  /** JSON file to keep the state in (survives a process crash); memory when left out. */
  stateFile?: string;
  tables?: string[];
}

export function testPlan(database: string, tables: string[] = ['public.*']): Migration {
  return migration.parse({
    apiVersion: 'handoff.dev/v1alpha1',
    kind: 'Migration',
    metadata: { name: 'test-migration' },
    spec: {
      source: { platform: { kind: 'local' }, databases: { [database]: { url: { fromEnv: 'SRC' } } } },
      target: { platform: { kind: 'local' }, databases: { [database]: { url: { fromEnv: 'TGT' } } } },
      data: [{ database, tables }],
    },
  });
}

export interface Harness {
  ctx: StepContext;
  events: HandoffEvent[];
  bus: EventBus;
}

export function makeHarness(options: HarnessOptions): Harness {
  const redactor = createRedactor();
  const bus = createEventBus({ runId: options.runId });
  const events: HandoffEvent[] = [];
  bus.on((event) => events.push(event));
  const read = (): Record<string, unknown> =>
    options.stateFile && fs.existsSync(options.stateFile)
      ? (JSON.parse(fs.readFileSync(options.stateFile, 'utf8')) as Record<string, unknown>)
      : {};
  let memory: Record<string, unknown> = read();
  const ctx: StepContext = {
    runId: options.runId,
    stage: 'replicate',
    key: `${options.runId}/replicate/test`,
    epoch: 1,
    plan: testPlan(options.database, options.tables),
    events: bus,
    logger: createSilentLogger(),
    redactor,
    secrets: {
      databaseUrl: (site) => (site === 'source' ? options.sourceUrl : options.targetUrl),
      resolve: () => {
        throw new Error('the test harness resolves database URLs only');
      },
    },
    signal: new AbortController().signal,
    state: {
      get: <T = unknown>(key: string) => memory[key] as T | undefined,
      set(key, value) {
        memory = { ...memory, [key]: value };
        if (options.stateFile) {
          fs.writeFileSync(`${options.stateFile}.tmp`, JSON.stringify(memory));
          fs.renameSync(`${options.stateFile}.tmp`, options.stateFile);
        }
      },
    },
  };
  return { ctx, events, bus };
}

export async function runSteps(ctx: StepContext, steps: Step[]): Promise<Record<string, unknown>> {
  const results: Record<string, unknown> = {};
  for (const step of steps) {
    const started = Date.now();
    results[step.name] = await step.run(ctx);
    if (process.env.HANDOFF_TEST_DEBUG)
      process.stderr.write(
        `step ${step.name} ${Date.now() - started} ms ${JSON.stringify(results[step.name]).slice(0, 200)}\n`,
      );
  }
  return results;
}

export async function undoSteps(ctx: StepContext, steps: Step[]): Promise<void> {
  for (const step of [...steps].reverse()) await step.undo?.(ctx);
}
