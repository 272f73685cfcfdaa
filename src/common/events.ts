/**
 * One typed event stream per run. Every component emits events here; the audit trail, the logs,
 * metrics, the dashboard and the report are readers of it. Each module declares the events it emits
 * in its own `events.ts`, by declaration merging (engine/events.ts, analysis/events.ts,
 * traffic/events.ts, data/postgres/events.ts, ...):
 *
 *   declare module '../common/events.js' {
 *     interface EventPayloads { 'weights-changed': { reads: Weights; writes: Weights } }
 *   }
 *
 * Only `log`, which every component may emit, is declared here.
 */

export interface EventPayloads {
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
