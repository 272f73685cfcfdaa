/**
 * Undo: every step that may have acted (done, failed or only intended) is undone in the reverse
 * order of its first intent, each fenced by the lease and recorded as `undone`, so a rollback that
 * crashes half-way goes on where it stopped (undo is idempotent).
 */
import type { StageName } from '../plan/schema.js';
import { emit, errorText, stepContext, updateRun, write, type Session } from './session.js';

export interface Stop {
  /** Whether the run got where it was asked to go (the exit code is 0 only then). */
  completed: boolean;
}

/** Rolls the run back; `requested` means an operator asked for it (success is then a completion). */
export async function rollbackRun(session: Session, reason: string, requested: boolean): Promise<Stop> {
  const { store, runId } = session;
  const run = updateRun(session, { state: 'rolling-back', reason });
  emit(session, 'rollback-started', { stage: run.stage ?? '', reason }, run.stage ?? '');
  const todo = store.steps
    .list(runId)
    .filter((step) => step.state !== 'undone')
    .reverse();
  let currentStage: string | null = null;
  const finishStage = (stage: string | null): void => {
    if (stage === null) return;
    write(session, () => store.steps.setStage(runId, stage, 'undone'));
    emit(session, 'stage-undone', { stage }, stage);
  };
  for (const record of todo) {
    if (record.stage !== currentStage) {
      finishStage(currentStage);
      currentStage = record.stage;
      emit(session, 'stage-undo-started', { stage: record.stage, reason }, record.stage);
    }
    const stage = session.stages.find((item) => item.name === record.stage);
    const step = stage?.steps.find((item) => item.name === record.step);
    if (step?.undo) {
      try {
        await step.undo(stepContext(session, record.stage as StageName, record.key));
      } catch (error) {
        const lost = session.lost();
        if (lost) throw lost;
        const message = errorText(session, error);
        updateRun(session, {
          state: 'failed',
          error: `undo of ${record.key} failed: ${message}`,
          reason: `${reason}; the rollback stopped at ${record.key}: fix the cause and run \`handoff rollback ${runId}\` again`,
        });
        emit(session, 'run-finished', { state: 'failed', reason: `undo of ${record.key} failed: ${message}` });
        return { completed: false };
      }
    } else if (!step) {
      session.logger.warn('a recorded step is not in the plan any more; nothing to undo for it', { key: record.key });
    }
    write(session, () => store.steps.undone(runId, record.stage, record.step, session.fence.epoch));
    emit(session, 'step-undone', { stage: record.stage, step: record.step, key: record.key }, record.key);
  }
  finishStage(currentStage);
  // A stage whose last undo was recorded just before a crash has no undone record yet.
  for (const stage of store.steps.stages(runId)) {
    if (stage.state !== 'skipped' && stage.state !== 'undone') finishStage(stage.stage);
  }
  updateRun(session, { state: 'rolled-back', finished: true });
  emit(session, 'rollback-done', { stage: run.stage ?? '' }, run.stage ?? '');
  emit(session, 'run-finished', { state: 'rolled-back', reason });
  return { completed: requested };
}
