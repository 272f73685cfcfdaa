import type { StoreCore } from './store.js';

export const RUN_STATES = [
  'running',
  'paused',
  'rolling-back',
  'succeeded',
  'rolled-back',
  'aborted',
  'failed',
] as const;
export type RunState = (typeof RUN_STATES)[number];

/** States from which a run can still go on (resume) or must be finished before the plan runs again. */
export const UNFINISHED_STATES: readonly RunState[] = ['running', 'paused', 'rolling-back', 'failed'];

export interface RunRecord {
  id: string;
  planName: string;
  planHash: string;
  /** The plan file's absolute path when the run started (relative `fromFile` references resolve from it). */
  planFile: string;
  /** The plan text as it was when the run started (redacted; plans hold references, not secrets). */
  planText: string;
  state: RunState;
  /** The stage the run is at (or stopped at). */
  stage: string | null;
  /** Why the run is paused, rolled back or aborted. */
  reason: string | null;
  /** The last error, redacted. */
  error: string | null;
  /** Stop after this stage (`--until`). */
  until: string | null;
  startedAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

export interface NewRun {
  id: string;
  planName: string;
  planHash: string;
  planFile: string;
  planText: string;
  until: string | null;
}

export interface RunPatch {
  state?: RunState;
  stage?: string | null;
  reason?: string | null;
  error?: string | null;
  until?: string | null;
  finished?: boolean;
}

export interface RunsRepo {
  create(run: NewRun): RunRecord;
  get(id: string): RunRecord | undefined;
  /** Every run, newest first. */
  list(): RunRecord[];
  /** The newest run of this plan name that is not finished, if any. */
  findUnfinished(planName: string): RunRecord | undefined;
  update(id: string, patch: RunPatch): RunRecord;
}

interface RunRow {
  id: string;
  plan_name: string;
  plan_hash: string;
  plan_file: string;
  plan_text: string;
  state: RunState;
  stage: string | null;
  reason: string | null;
  error: string | null;
  until_stage: string | null;
  started_at: string;
  updated_at: string;
  finished_at: string | null;
}

function toRecord(row: RunRow): RunRecord {
  return {
    id: row.id,
    planName: row.plan_name,
    planHash: row.plan_hash,
    planFile: row.plan_file,
    planText: row.plan_text,
    state: row.state,
    stage: row.stage,
    reason: row.reason,
    error: row.error,
    until: row.until_stage,
    startedAt: row.started_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
  };
}

export function createRunsRepo(core: StoreCore): RunsRepo {
  const { db } = core;
  const byId = db.prepare<[string], RunRow>('SELECT * FROM runs WHERE id = ?');
  const all = db.prepare<[], RunRow>('SELECT * FROM runs ORDER BY started_at DESC, id DESC');
  const unfinished = db.prepare<string[], RunRow>(
    `SELECT * FROM runs WHERE plan_name = ? AND state IN (?, ?, ?, ?) ORDER BY started_at DESC LIMIT 1`,
  );
  const insert = db.prepare(
    `INSERT INTO runs (id, plan_name, plan_hash, plan_file, plan_text, state, until_stage, started_at, updated_at)
     VALUES (@id, @planName, @planHash, @planFile, @planText, 'running', @until, @now, @now)`,
  );
  const get = (id: string): RunRecord | undefined => {
    const row = byId.get(id);
    return row ? toRecord(row) : undefined;
  };
  return {
    create(run) {
      insert.run({
        ...run,
        planFile: core.clean(run.planFile),
        planText: core.clean(run.planText),
        now: core.now().toISOString(),
      });
      return get(run.id) as RunRecord;
    },
    get,
    list: () => all.all().map(toRecord),
    findUnfinished(planName) {
      const row = unfinished.get(planName, ...UNFINISHED_STATES);
      return row ? toRecord(row) : undefined;
    },
    update(id, patch) {
      const sets: string[] = ['updated_at = @now'];
      const now = core.now().toISOString();
      const values: Record<string, string | null> = { id, now };
      const text = (value: string | null | undefined): string | null =>
        value === null || value === undefined ? null : core.clean(value);
      const set = (column: string, name: string, value: string | null): void => {
        sets.push(`${column} = @${name}`);
        values[name] = value;
      };
      if (patch.state !== undefined) set('state', 'state', patch.state);
      if (patch.stage !== undefined) set('stage', 'stage', patch.stage);
      if (patch.reason !== undefined) set('reason', 'reason', text(patch.reason));
      if (patch.error !== undefined) set('error', 'error', text(patch.error));
      if (patch.until !== undefined) set('until_stage', 'until', patch.until);
      if (patch.finished !== undefined) {
        sets.push('finished_at = @finishedAt');
        values.finishedAt = patch.finished ? now : null;
      }
      db.prepare(`UPDATE runs SET ${sets.join(', ')} WHERE id = @id`).run(values);
      const updated = get(id);
      if (!updated) throw new Error(`run ${id} vanished from the store`);
      return updated;
    },
  };
}
