import type { StoreCore } from './store.js';

export type StepState = 'intent' | 'done' | 'failed' | 'undone';
export type StageState = 'running' | 'done' | 'skipped' | 'failed' | 'undone';

export interface StepRecord {
  runId: string;
  stage: string;
  step: string;
  /** `RUN/STAGE/STEP`: what a step's side effects may be keyed by. */
  key: string;
  /** Order in which the step first recorded its intent (undo goes in reverse). */
  seq: number;
  /** The lease epoch of the last write. */
  epoch: number;
  state: StepState;
  attempts: number;
  result: unknown;
  error: string | null;
  intentAt: string;
  doneAt: string | null;
  undoneAt: string | null;
}

export interface StageRecord {
  runId: string;
  stage: string;
  state: StageState;
  reason: string | null;
  startedAt: string;
  finishedAt: string | null;
}

export interface StepsRepo {
  stages(runId: string): StageRecord[];
  /** Creates or updates a stage's row. */
  setStage(runId: string, stage: string, state: StageState, reason?: string | null): void;
  /** Every step of a run in the order of their first intent. */
  list(runId: string): StepRecord[];
  get(runId: string, stage: string, step: string): StepRecord | undefined;
  /** Records (again) the intent to run a step at this epoch; counts attempts. */
  intent(runId: string, stage: string, step: string, epoch: number): StepRecord;
  done(runId: string, stage: string, step: string, epoch: number, result: unknown): void;
  failed(runId: string, stage: string, step: string, epoch: number, error: string): void;
  undone(runId: string, stage: string, step: string, epoch: number): void;
  getValue(runId: string, key: string): unknown;
  setValue(runId: string, key: string, value: unknown): void;
}

export function stepKey(runId: string, stage: string, step: string): string {
  return `${runId}/${stage}/${step}`;
}

interface StepRow {
  run_id: string;
  stage: string;
  step: string;
  idempotency_key: string;
  seq: number;
  epoch: number;
  state: StepState;
  attempts: number;
  result: string | null;
  error: string | null;
  intent_at: string;
  done_at: string | null;
  undone_at: string | null;
}

interface StageRow {
  run_id: string;
  stage: string;
  state: StageState;
  reason: string | null;
  started_at: string;
  finished_at: string | null;
}

function toStep(row: StepRow): StepRecord {
  return {
    runId: row.run_id,
    stage: row.stage,
    step: row.step,
    key: row.idempotency_key,
    seq: row.seq,
    epoch: row.epoch,
    state: row.state,
    attempts: row.attempts,
    result: row.result === null ? null : (JSON.parse(row.result) as unknown),
    error: row.error,
    intentAt: row.intent_at,
    doneAt: row.done_at,
    undoneAt: row.undone_at,
  };
}

export function createStepsRepo(core: StoreCore): StepsRepo {
  const { db } = core;
  const stagesOf = db.prepare<[string], StageRow>('SELECT * FROM stages WHERE run_id = ? ORDER BY started_at, rowid');
  const upsertStage = db.prepare(
    `INSERT INTO stages (run_id, stage, state, reason, started_at, finished_at)
     VALUES (@runId, @stage, @state, @reason, @now, @finished)
     ON CONFLICT (run_id, stage) DO UPDATE SET state = @state, reason = @reason, finished_at = @finished`,
  );
  const stepsOf = db.prepare<[string], StepRow>('SELECT * FROM steps WHERE run_id = ? ORDER BY seq');
  const stepOf = db.prepare<[string, string, string], StepRow>(
    'SELECT * FROM steps WHERE run_id = ? AND stage = ? AND step = ?',
  );
  const insertIntent = db.prepare(
    `INSERT INTO steps (run_id, stage, step, idempotency_key, seq, epoch, state, intent_at)
     VALUES (@runId, @stage, @step, @key,
       (SELECT COALESCE(MAX(seq), 0) + 1 FROM steps WHERE run_id = @runId), @epoch, 'intent', @now)
     ON CONFLICT (run_id, stage, step) DO UPDATE SET
       state = 'intent', epoch = @epoch, attempts = attempts + 1, intent_at = @now, error = NULL`,
  );
  const setState = db.prepare(
    `UPDATE steps SET state = @state, epoch = @epoch, result = COALESCE(@result, result), error = @error,
       done_at = CASE WHEN @state = 'done' THEN @now ELSE done_at END,
       undone_at = CASE WHEN @state = 'undone' THEN @now ELSE undone_at END
     WHERE run_id = @runId AND stage = @stage AND step = @step`,
  );
  const getValue = db.prepare<[string, string], { value: string }>(
    'SELECT value FROM step_state WHERE run_id = ? AND key = ?',
  );
  const putValue = db.prepare(
    `INSERT INTO step_state (run_id, key, value, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
  );

  const get = (runId: string, stage: string, step: string): StepRecord | undefined => {
    const row = stepOf.get(runId, stage, step);
    return row ? toStep(row) : undefined;
  };
  const update = (
    runId: string,
    stage: string,
    step: string,
    epoch: number,
    state: StepState,
    result: string | null,
    error: string | null,
  ): void => {
    const info = setState.run({ runId, stage, step, epoch, state, result, error, now: core.now().toISOString() });
    if (info.changes !== 1) throw new Error(`step ${stepKey(runId, stage, step)} has no intent recorded`);
  };

  return {
    stages: (runId) =>
      stagesOf.all(runId).map((row) => ({
        runId: row.run_id,
        stage: row.stage,
        state: row.state,
        reason: row.reason,
        startedAt: row.started_at,
        finishedAt: row.finished_at,
      })),
    setStage(runId, stage, state, reason = null) {
      const now = core.now().toISOString();
      upsertStage.run({
        runId,
        stage,
        state,
        reason: reason === null ? null : core.clean(reason),
        now,
        finished: state === 'running' ? null : now,
      });
    },
    list: (runId) => stepsOf.all(runId).map(toStep),
    get,
    intent(runId, stage, step, epoch) {
      const key = stepKey(runId, stage, step);
      insertIntent.run({ runId, stage, step, key, epoch, now: core.now().toISOString() });
      return get(runId, stage, step) as StepRecord;
    },
    done: (runId, stage, step, epoch, result) =>
      update(runId, stage, step, epoch, 'done', core.json(result === undefined ? null : result), null),
    failed: (runId, stage, step, epoch, error) => update(runId, stage, step, epoch, 'failed', null, core.clean(error)),
    undone: (runId, stage, step, epoch) => update(runId, stage, step, epoch, 'undone', null, null),
    getValue(runId, key) {
      const row = getValue.get(runId, key);
      return row ? (JSON.parse(row.value) as unknown) : undefined;
    },
    setValue(runId, key, value) {
      putValue.run(runId, key, core.json(value), core.now().toISOString());
    },
  };
}
