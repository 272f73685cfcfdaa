/**
 * What one executor holds while it acts on a run: the store, its lease fence, the run's event bus
 * and the stages. Every write goes through `write`, which checks the lease epoch in the same
 * transaction; every fact is emitted as an event.
 */
import type { EventBus, EventPayloads, EventType } from '../common/events.js';
import { HandoffError, messageOf } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { Redactor } from '../common/redact.js';
import type { Migration, StageName } from '../plan/schema.js';
import type { RunPatch, RunRecord } from '../store/runs.js';
import type { Fence, Store } from '../store/store.js';
import type { ResolvedSecrets, StepContext } from './step.js';
import type { Stage } from './stage.js';
import './events.js';

export interface Session {
  store: Store;
  runId: string;
  fence: Fence;
  plan: Migration;
  stages: Stage[];
  secrets: ResolvedSecrets;
  redactor: Redactor;
  logger: Logger;
  events: EventBus;
  /** Aborted on an abort request or when the lease is lost. */
  signal: AbortSignal;
  pollMs: number;
  /** The lease-lost error, once the heartbeat found the lease taken over. */
  lost(): HandoffError | null;
}

/** A write fenced by the lease: refused with `lease.lost` when another executor took the run over. */
export function write<T>(session: Session, fn: () => T): T {
  const lost = session.lost();
  if (lost) throw lost;
  return session.store.fenced(session.fence, fn);
}

export function updateRun(session: Session, patch: RunPatch): RunRecord {
  return write(session, () => session.store.runs.update(session.runId, patch));
}

export function emit<T extends EventType>(
  session: Session,
  type: T,
  data: EventPayloads[T],
  subject = '',
  actor = 'engine',
): void {
  session.events.emit(type, session.redactor.redactValue(data), { subject, actor, runId: session.runId });
}

export function stepContext(session: Session, stage: StageName, key: string): StepContext {
  const { store, runId } = session;
  return {
    runId,
    stage,
    key,
    epoch: session.fence.epoch,
    plan: session.plan,
    events: session.events,
    logger: session.logger.child({ run: runId, stage }),
    redactor: session.redactor,
    secrets: session.secrets,
    signal: session.signal,
    state: {
      get: <V>(name: string) => store.steps.getValue(runId, name) as V | undefined,
      set: (name, value) => write(session, () => store.steps.setValue(runId, name, value)),
    },
  };
}

/** A redacted, single-line message for any thrown value. */
export function errorText(session: Session, error: unknown): string {
  const code = error instanceof HandoffError ? ` [${error.code}]` : '';
  return session.redactor.redact(`${messageOf(error)}${code}`);
}
