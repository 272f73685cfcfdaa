/**
 * Waiting for approvals before a stage (`spec.approvals[].before`). The wait polls the store (the
 * `handoff approve` command writes there from another process), takes control requests, and is
 * bounded: when the approval's timeout passes, the run pauses saying what it waits for. An approval
 * with a `webhook` is asked for by a POST to it (approval-webhook.ts) while the wait goes on.
 */
import { sleep } from '../common/net.js';
import { approveCommand, postApprovalWebhook } from './approval-webhook.js';
import type { StageName } from '../plan/schema.js';
import { handleControl, pendingControl } from './control.js';
import { requiredApprovals } from './planner.js';
import type { Stop } from './rollback.js';
import { emit, updateRun, write, type Session } from './session.js';

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
  const missing = missingApprovals(session, stage);
  if (missing.length === 0) return null;
  const timeoutMs = Math.max(...required.map((item) => item.timeoutMs));
  const deadline = Date.now() + timeoutMs;
  const waiting = `waiting for approval of stage ${stage} by role ${missing.join(', ')}`;
  updateRun(session, { stage, reason: waiting });
  emit(session, 'approval-waiting', { stage, roles: missing, timeoutMs }, stage);
  session.logger.info(`${waiting}: handoff approve ${session.runId} --stage ${stage} --as NAME --role ROLE`);
  const calls = new AbortController();
  const webhooks = callWebhooks(session, stage, missing, calls.signal);
  try {
    return await poll(session, stage, { waiting, timeoutMs, deadline });
  } finally {
    // The wait is over (approved, paused, aborted): a call still under way is cancelled, then recorded.
    calls.abort();
    await webhooks;
  }
}

async function poll(
  session: Session,
  stage: StageName,
  wait: { waiting: string; timeoutMs: number; deadline: number },
): Promise<Stop | null> {
  const { waiting, timeoutMs, deadline } = wait;
  for (;;) {
    const request = pendingControl(session);
    if (request) return handleControl(session, request);
    if (missingApprovals(session, stage).length === 0) {
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

/** The store key under which a delivered webhook call is remembered, so a resumed run does not call again. */
function deliveredKey(stage: string, role: string): string {
  return `approval-webhook/${stage}/${role}`;
}

/** POSTs to the webhook of each missing approval that has one and was not delivered before; never throws. */
async function callWebhooks(session: Session, stage: StageName, missing: string[], signal: AbortSignal): Promise<void> {
  const wanted = session.plan.spec.approvals.filter(
    (item) => item.before === stage && item.webhook && missing.includes(item.role),
  );
  await Promise.all(
    wanted.map(async (approval) => {
      const url = approval.webhook;
      const key = deliveredKey(stage, approval.role);
      if (!url) return;
      try {
        if (session.store.steps.getValue(session.runId, key) !== undefined) return;
        const result = await postApprovalWebhook({
          url,
          body: {
            runId: session.runId,
            plan: session.plan.metadata.name,
            stage,
            role: approval.role,
            approveCommand: approveCommand(session.runId, stage, approval.role),
          },
          redactor: session.redactor,
          logger: session.logger,
          signal: AbortSignal.any([signal, session.signal]),
        });
        if (result.delivered)
          write(session, () =>
            session.store.steps.setValue(session.runId, key, {
              url: result.url,
              status: result.status,
              at: new Date().toISOString(),
            }),
          );
        emit(session, 'approval-webhook', { stage, role: approval.role, ...result }, stage);
      } catch (error) {
        // Recording failed (the lease was lost, the store is busy): the wait itself reports a lost lease.
        session.logger.warn('the approval webhook call could not be recorded', {
          stage,
          role: approval.role,
          error: String(error),
        });
      }
    }),
  );
}
