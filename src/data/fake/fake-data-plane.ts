/**
 * An in-memory data plane for tests of the engine and stages: two sites holding keyed rows,
 * replication that applies writes instantly, fences that refuse application writes. It follows the
 * same contract as the PostgreSQL data plane (test/contracts/data-plane.contract.ts): idempotent
 * steps, undo that removes what run made, a fenced target during replication, reverse replication
 * after cutover, and a source left fenced after finalize (keepSourceFenced). Every step's run and undo
 * is written to `world.journal` in order, so engine tests can place them against the router's calls.
 */
import { CheckFailedError, TimeoutError } from '../../common/errors.js';
import type { Finding } from '../../common/findings.js';
import type { DataSpec } from '../../plan/schema.js';
import type { DataPlane, Step, StepContext } from '../data-plane.js';
// The report's event shapes (replication-lag, verification-result).
import '../../report/events.js';

export type FakeSiteName = 'source' | 'target';

export interface FakeSite {
  /** table → key → value */
  tables: Map<string, Map<string, string>>;
  /** Runs whose fence holds this site. */
  fences: Set<string>;
  /** Objects handoff created here (publications, subscriptions, slots, markers, triggers). */
  objects: Set<string>;
}

export interface FakeWorld {
  source: FakeSite;
  target: FakeSite;
  /** Active replication streams: name → direction. */
  streams: Map<string, { from: FakeSiteName; to: FakeSiteName }>;
  /** The application's write; false when a fence refuses it. Replicates at once. */
  appWrite(site: FakeSiteName, table: string, key: string, value: string): boolean;
  /** `run <step>` and `undo <step>` in the order they happened (also `lag <database>`). */
  journal: string[];
  /** What `lag` answers (ms); `null` makes it fail as an unreachable marker would. */
  lagMs: number | null;
}

function site(): FakeSite {
  return { tables: new Map(), fences: new Set(), objects: new Set() };
}

export function createFakeWorld(tables: readonly string[] = ['public.items']): FakeWorld {
  const world: FakeWorld = {
    source: site(),
    target: site(),
    streams: new Map(),
    journal: [],
    lagMs: 0,
    appWrite(name, table, key, value) {
      if (world[name].fences.size > 0) return false;
      apply(world, name, table, key, value);
      return true;
    },
  };
  for (const t of tables) {
    world.source.tables.set(t, new Map());
    world.target.tables.set(t, new Map());
  }
  return world;
}

function apply(
  world: FakeWorld,
  from: FakeSiteName,
  table: string,
  key: string,
  value: string,
  seen = new Set<string>(),
): void {
  const rows = world[from].tables.get(table);
  if (!rows) throw new Error(`fake: no table ${table} on the ${from}`);
  rows.set(key, value);
  for (const [name, stream] of world.streams) {
    if (stream.from !== from || seen.has(name)) continue;
    seen.add(name);
    apply(world, stream.to, table, key, value, seen); // origin = none: never back to where it came from
  }
}

function other(name: FakeSiteName): FakeSiteName {
  return name === 'source' ? 'target' : 'source';
}

export function createFakeDataPlane(world: FakeWorld): DataPlane {
  const base = (ctx: StepContext, entry: DataSpec): string => `handoff_${ctx.runId}_${entry.database}`;
  const key = (entry: DataSpec, what: string): string => `fake.${entry.database}.${what}`;

  const fence = (ctx: StepContext, entry: DataSpec, name: FakeSiteName, stateKey: string): Record<string, unknown> => {
    world[name].fences.add(base(ctx, entry));
    if (ctx.state.get(stateKey) === undefined) ctx.state.set(stateKey, Date.now());
    return { site: name };
  };
  const open = (ctx: StepContext, entry: DataSpec, name: FakeSiteName, stateKey: string): Record<string, unknown> => {
    world[name].fences.delete(base(ctx, entry));
    const fencedAt = ctx.state.get<number>(stateKey);
    return { site: name, writesRefusedMs: fencedAt === undefined ? null : Date.now() - fencedAt };
  };
  const stream = (ctx: StepContext, entry: DataSpec, from: FakeSiteName, copy: boolean): void => {
    const name = `${base(ctx, entry)}${from === 'source' ? '' : '_rev'}`;
    if (world.streams.has(name)) return;
    if (copy) {
      for (const [table, rows] of world[from].tables) {
        const into = world[other(from)].tables.get(table);
        for (const [k, v] of rows) into?.set(k, v);
      }
    }
    world.streams.set(name, { from, to: other(from) });
    world[from].objects.add(`publication ${name}`).add(`slot ${name}`);
    world[other(from)].objects.add(`subscription ${name}`);
  };
  const unstream = (ctx: StepContext, entry: DataSpec, from: FakeSiteName): void => {
    const name = `${base(ctx, entry)}${from === 'source' ? '' : '_rev'}`;
    world.streams.delete(name);
    world[from].objects.delete(`publication ${name}`);
    world[from].objects.delete(`slot ${name}`);
    world[other(from)].objects.delete(`subscription ${name}`);
  };
  const scaffold = (ctx: StepContext, entry: DataSpec, add: boolean): void => {
    for (const name of ['source', 'target'] as const) {
      if (add) world[name].objects.add(`marker ${base(ctx, entry)}`);
      else world[name].objects.delete(`marker ${base(ctx, entry)}`);
    }
  };
  const noop = async (): Promise<Record<string, unknown>> => ({});
  const journaled = (steps: Step[]): Step[] =>
    steps.map((step) => ({
      ...step,
      run: (ctx: StepContext) => (world.journal.push(`run ${step.name}`), step.run(ctx)),
      ...(step.undo ? { undo: (ctx: StepContext) => (world.journal.push(`undo ${step.name}`), step.undo!(ctx)) } : {}),
    }));
  /** Rows that differ between the sites, per table (what a verification pass would find). */
  const differences = (): string[] => {
    const out: string[] = [];
    for (const [table, rows] of world.source.tables) {
      const other = world.target.tables.get(table) ?? new Map<string, string>();
      let missing = 0;
      let changed = 0;
      for (const [k, v] of rows) {
        if (!other.has(k)) missing++;
        else if (other.get(k) !== v) changed++;
      }
      const extra = [...other.keys()].filter((k) => !rows.has(k)).length;
      if (missing + extra + changed > 0) out.push(`${table} (${missing} missing, ${extra} extra, ${changed} changed)`);
    }
    return out;
  };

  return {
    async preflight(input) {
      const findings: Finding[] = [
        { id: 'pg.version', severity: 'info', subject: 'source,target', message: 'fake data plane', remediation: '' },
      ];
      for (const table of world.source.tables.keys()) {
        if (!world.target.tables.has(table)) {
          findings.push({
            id: 'pg.table-missing',
            severity: 'blocker',
            subject: table,
            message: `${table} is missing on the target`,
            remediation: 'create it',
          });
        } else if ((world.target.tables.get(table)?.size ?? 0) > 0) {
          findings.push({
            id: 'pg.target-not-empty',
            severity: input.entry.preSeeded ? 'warning' : 'blocker',
            subject: table,
            message: `${table} has rows`,
            remediation: '',
          });
        }
      }
      const rows = [...world.source.tables.values()].reduce((n, t) => n + t.size, 0);
      return {
        ok: !findings.some((f) => f.severity === 'blocker'),
        findings,
        estimate: { totalRows: rows, totalBytes: rows * 100, copySeconds: Math.ceil(rows / 250_000) },
      };
    },
    replicationSteps: (entry): Step[] =>
      journaled([
        {
          name: `fake-${entry.database}-prepare`,
          run: async (ctx) => (scaffold(ctx, entry, true), {}),
          undo: async (ctx) => scaffold(ctx, entry, false),
        },
        {
          name: `fake-${entry.database}-fence-target`,
          run: async (ctx) => fence(ctx, entry, 'target', key(entry, 'replicate.fenced-at')),
          undo: async (ctx) => void open(ctx, entry, 'target', key(entry, 'replicate.fenced-at')),
        },
        {
          name: `fake-${entry.database}-subscribe`,
          run: async (ctx) => (stream(ctx, entry, 'source', !entry.preSeeded), {}),
          undo: async (ctx) => unstream(ctx, entry, 'source'),
        },
        {
          name: `fake-${entry.database}-dirty-tracking`,
          run: async (ctx) => (world.target.objects.add(`trigger ${base(ctx, entry)}`), {}),
          undo: async (ctx) => void world.target.objects.delete(`trigger ${base(ctx, entry)}`),
        },
        { name: `fake-${entry.database}-catch-up`, run: noop },
      ]),
    verificationSteps: (entry): Step[] =>
      journaled([
        {
          name: `fake-${entry.database}-verify`,
          async run(ctx) {
            const rows = [...world.source.tables.values()].reduce((n, t) => n + t.size, 0);
            const differing = differences();
            ctx.events.emit(
              'verification-result',
              {
                database: entry.database,
                identical: differing.length === 0,
                rowsCompared: rows,
                elapsedMs: 0,
                tables: [],
              },
              { subject: entry.database },
            );
            if (differing.length > 0)
              throw new CheckFailedError(
                `database ${entry.database} differs between the sites after replication caught up: ${differing.join('; ')}`,
              );
            return { identical: true, rowsCompared: rows };
          },
        },
      ]),
    cutoverSteps: (entry) => ({
      beforeHold: journaled([
        { name: `fake-${entry.database}-lag-check`, run: noop },
        { name: `fake-${entry.database}-settle-dirty`, run: async () => ({ settled: true }) },
      ]),
      underHold: journaled([
        {
          name: `fake-${entry.database}-fence-source`,
          run: async (ctx) => fence(ctx, entry, 'source', key(entry, 'cutover.fenced-at')),
          undo: async (ctx) => void open(ctx, entry, 'source', key(entry, 'cutover.fenced-at')),
        },
        {
          name: `fake-${entry.database}-retire-forward`,
          run: async (ctx) => (unstream(ctx, entry, 'source'), {}),
          undo: async (ctx) => stream(ctx, entry, 'source', false),
        },
        {
          name: `fake-${entry.database}-start-reverse`,
          run: async (ctx) => (stream(ctx, entry, 'target', false), {}),
          undo: async (ctx) => unstream(ctx, entry, 'target'),
        },
        {
          name: `fake-${entry.database}-open-target`,
          run: async (ctx) => open(ctx, entry, 'target', key(entry, 'cutover.fenced-at')),
          undo: async (ctx) => void fence(ctx, entry, 'target', key(entry, 'cutover.undo.fenced-at')),
        },
      ]),
      afterHold: journaled([{ name: `fake-${entry.database}-drop-retired-forward`, run: noop }]),
    }),
    failbackSteps: (entry): Step[] =>
      journaled([
        {
          name: `fake-${entry.database}-fence-target`,
          run: async (ctx) => fence(ctx, entry, 'target', key(entry, 'failback.fenced-at')),
          undo: async (ctx) => void open(ctx, entry, 'target', key(entry, 'failback.fenced-at')),
        },
        {
          name: `fake-${entry.database}-stop-reverse`,
          run: async (ctx) => (unstream(ctx, entry, 'target'), {}),
          undo: async (ctx) => stream(ctx, entry, 'target', false),
        },
        {
          name: `fake-${entry.database}-restart-forward`,
          run: async (ctx) => (stream(ctx, entry, 'source', false), {}),
          undo: async (ctx) => unstream(ctx, entry, 'source'),
        },
        {
          name: `fake-${entry.database}-open-source`,
          run: async (ctx) => open(ctx, entry, 'source', key(entry, 'failback.fenced-at')),
          undo: async (ctx) => void fence(ctx, entry, 'source', key(entry, 'failback.undo.fenced-at')),
        },
      ]),
    finalizeSteps: (entry): Step[] =>
      journaled([
        // Reverse replication applies at once here: the source already has every write.
        {
          name: `fake-${entry.database}-drain-reverse`,
          run: async (ctx) => ({ drained: world.streams.has(`${base(ctx, entry)}_rev`) }),
        },
        {
          name: `fake-${entry.database}-drop-replication`,
          run: async (ctx) => (unstream(ctx, entry, 'target'), unstream(ctx, entry, 'source'), {}),
        },
        {
          name: `fake-${entry.database}-release-fences`,
          run: async (ctx) => ({
            targetUnfenced: world.target.fences.delete(base(ctx, entry)),
            sourceFenced: world.source.fences.has(base(ctx, entry)),
          }),
        },
        {
          name: `fake-${entry.database}-drop-scaffold`,
          run: async (ctx) => (
            world.target.objects.delete(`trigger ${base(ctx, entry)}`),
            scaffold(ctx, entry, false),
            {}
          ),
        },
      ]),
    async lag(ctx, entry, timeoutMs) {
      world.journal.push(`lag ${entry.database}`);
      if (!world.streams.has(base(ctx, entry)) || world.lagMs === null || world.lagMs > timeoutMs) {
        throw new TimeoutError(`fake: no heartbeat from the source of ${entry.database} within ${timeoutMs} ms`);
      }
      ctx.events.emit('replication-lag', { database: entry.database, lagMs: world.lagMs }, { subject: entry.database });
      return world.lagMs;
    },
  };
}
