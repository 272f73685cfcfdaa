/**
 * One typed event stream per run. Every component emits events here; the audit trail, the logs,
 * metrics, the dashboard and the report are readers of it. Modules add their own event types by
 * declaration merging:
 *
 *   declare module '../common/events.js' {
 *     interface EventPayloads { 'weights-changed': { reads: Weights; writes: Weights } }
 *   }
 */

export interface EventPayloads {
  'run-started': { plan: string; planHash: string; dryRun: boolean };
  'run-finished': { state: string; reason?: string };
  'run-paused': { reason: string };
  'run-resumed': { by: string };
  'run-aborted': { by: string; reason?: string };
  'stage-started': { stage: string };
  'stage-done': { stage: string };
  'stage-failed': { stage: string; error: string };
  'stage-skipped': { stage: string; reason: string };
  'stage-undo-started': { stage: string; reason: string };
  'stage-undone': { stage: string };
  'step-intent': { stage: string; step: string; key: string; epoch: number; attempt?: number };
  'step-done': { stage: string; step: string; key: string; result?: unknown; attempts?: number };
  'step-failed': { stage: string; step: string; key: string; error: string; attempts?: number };
  'rollback-started': { stage: string; reason: string };
  'rollback-done': { stage: string };
  'approval-recorded': { stage: string; by: string; role: string };
  'gate-decided': {
    gate: string;
    outcome: string;
    reason: string;
    checks: Array<Record<string, unknown>>;
    /** Every reason (analysis/gate-decision.ts); `reason` is the first. */
    reasons?: string[];
  };
  'check-measured': {
    check: string;
    outcome: string;
    value: number | null;
    threshold?: unknown;
    samples?: number;
    reason: string;
    /** Added by analysis/ (decision records): the gate, the source side, the verdict. */
    gate?: string;
    metric?: string;
    sourceValue?: number | null;
    sourceSamples?: number | null;
    ratio?: number | null;
    pValue?: number;
    windowMs?: number;
    verdict?: string;
    countedAs?: string;
    dryRun?: boolean;
  };
  'lease-acquired': { epoch: number; holder: string };
  log: { level: string; message: string; fields?: Record<string, unknown> };
}

export type EventType = keyof EventPayloads;

export interface HandoffEvent<T extends EventType = EventType> {
  type: T;
  /** ISO 8601 time the event happened. */
  time: string;
  runId: string | null;
  /** Who caused it: `engine`, `router`, a user name from `--as`, ... */
  actor: string;
  /** What it is about: a stage, a step, a table, a site. */
  subject: string;
  data: EventPayloads[T];
}

export type EventListener = (event: HandoffEvent) => void;

export interface EventBus {
  emit<T extends EventType>(
    type: T,
    data: EventPayloads[T],
    meta?: { actor?: string; subject?: string; runId?: string | null },
  ): HandoffEvent<T>;
  /** Subscribes; returns the function that unsubscribes. Listeners are called synchronously, in order. */
  on(listener: EventListener): () => void;
}

export interface EventBusOptions {
  runId?: string | null;
  now?: () => Date;
}

export function createEventBus(options: EventBusOptions = {}): EventBus {
  const listeners: EventListener[] = [];
  const now = options.now ?? (() => new Date());
  return {
    emit(type, data, meta = {}) {
      const event = {
        type,
        time: now().toISOString(),
        runId: meta.runId ?? options.runId ?? null,
        actor: meta.actor ?? 'engine',
        subject: meta.subject ?? '',
        data,
      };
      for (const listener of [...listeners]) listener(event as HandoffEvent);
      return event;
    },
    on(listener) {
      listeners.push(listener);
      return () => {
        const index = listeners.indexOf(listener);
        if (index >= 0) listeners.splice(index, 1);
      };
    },
  };
}
