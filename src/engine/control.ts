/**
 * Requests from other processes (`handoff pause|rollback|abort RUN`) to the run's executor, taken at
 * every step boundary and during every wait. Abort wins over rollback, rollback over pause.
 */
import type { ControlAction, ControlRequest } from '../store/requests.js';
import { rollbackRun, type Stop } from './rollback.js';
import { emit, updateRun, write, type Session } from './session.js';

const priority: Record<ControlAction, number> = { abort: 3, rollback: 2, pause: 1 };

/** The most urgent pending request, if any. */
export function pendingControl(session: Session): ControlRequest | null {
  const pending = session.store.requests.pending(session.runId);
  let best: ControlRequest | null = null;
  for (const request of pending) if (!best || priority[request.action] > priority[best.action]) best = request;
  return best;
}

/** Marks every pending request of at most this priority handled (an abort settles a pause too). */
function settle(session: Session, request: ControlRequest): void {
  write(session, () => {
    for (const item of session.store.requests.pending(session.runId)) {
      if (priority[item.action] <= priority[request.action]) session.store.requests.markHandled(item.id);
    }
  });
}

export async function handleControl(session: Session, request: ControlRequest): Promise<Stop> {
  const by = request.requestedBy;
  switch (request.action) {
    case 'abort': {
      settle(session, request);
      const reason = `aborted by ${by}`;
      updateRun(session, { state: 'aborted', reason, finished: true });
      emit(session, 'run-aborted', { by, reason }, session.runId, by);
      emit(session, 'run-finished', { state: 'aborted', reason });
      return { completed: false };
    }
    case 'rollback':
      settle(session, request);
      return rollbackRun(session, `rollback requested by ${by}`, false);
    case 'pause': {
      settle(session, request);
      const reason = `paused by ${by}`;
      updateRun(session, { state: 'paused', reason });
      emit(session, 'run-paused', { reason }, session.runId, by);
      return { completed: false };
    }
  }
}
