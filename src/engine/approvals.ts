/**
 * Waiting for approvals before a stage (`spec.approvals[].before`). The wait polls the store (the
 * `handoff approve` command writes there from another process), takes control requests, and is
 * bounded: when the approval's timeout passes, the run pauses saying what it waits for.
 */
import { sleep } from '../common/net.js';
import type { StageName } from '../plan/schema.js';
import { handleControl, pendingControl } from './control.js';
import { requiredApprovals } from './planner.js';
import type { Stop } from './rollback.js';
import { emit, updateRun, type Session } from './session.js';

export function missingApprovals(session: Session, stage: StageName): string[] {
  const approvals = session.store.requests.approvals(session.runId);
  return requiredApprovals(session.plan, stage)
    .filter((required) => !approvals.some((item) => item.stage === stage && item.role === required.role))
    .map((required) => required.role);
}

/** Resolves to null once every approval is there, or to how the run stopped. */
export async function waitForApprovals(session: Session, stage: StageName): Promise<Stop | null> {
  const required = requiredApprovals(session.plan, stage);
  if (required.length === 0) return null;
  let missing = missingApprovals(session, stage);
  if (missing.length === 0) return null;
  const timeoutMs = Math.max(...required.map((item) => item.timeoutMs));
  const deadline = Date.now() + timeoutMs;
  const waiting = `waiting for approval of stage ${stage} by role ${missing.join(', ')}`;
  updateRun(session, { stage, reason: waiting });
  emit(session, 'approval-waiting', { stage, roles: missing, timeoutMs }, stage);
  session.logger.info(`${waiting}: handoff approve ${session.runId} --stage ${stage} --as NAME --role ROLE`);
  for (;;) {
    const request = pendingControl(session);
    if (request) return handleControl(session, request);
    missing = missingApprovals(session, stage);
    if (missing.length === 0) {
      updateRun(session, { reason: null });
      return null;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      const reason = `${waiting} (waited ${Math.round(timeoutMs / 1000)}s); approve it, then resume`;
      updateRun(session, { state: 'paused', reason });
      emit(session, 'run-paused', { reason }, stage);
      return { completed: false };
    }
    try {
      await sleep(Math.min(session.pollMs, left), session.signal);
    } catch {
      const lost = session.lost();
      if (lost) throw lost;
      // aborted: the abort request is taken on the next turn
    }
  }
}
