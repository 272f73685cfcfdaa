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
  /**
   * Like `on`, for a listener that can take several events at once (the audit trail writes them in
   * one durable append): the events of one `batch` arrive in one call, every other event alone.
   */
  onMany(listener: (events: HandoffEvent[]) => void): () => void;
  /**
   * Runs `fn`, holding the events it emits until it returns; then every listener gets them, in
   * order (an `onMany` listener in one call). Nested batches deliver with the outermost.
   */
  batch<T>(fn: () => T): T;
}

export interface EventBusOptions {
  runId?: string | null;
  now?: () => Date;
}

export function createEventBus(options: EventBusOptions = {}): EventBus {
  type Subscriber = { one: EventListener } | { many: (events: HandoffEvent[]) => void };
  const listeners: Subscriber[] = [];
  const now = options.now ?? (() => new Date());
  let held: HandoffEvent[] | null = null;
  const deliver = (events: HandoffEvent[]): void => {
    for (const listener of [...listeners]) {
      if ('many' in listener) listener.many(events);
      else for (const event of events) listener.one(event);
    }
  };
  const subscribe = (listener: Subscriber): (() => void) => {
    listeners.push(listener);
    return () => {
      const index = listeners.indexOf(listener);
      if (index >= 0) listeners.splice(index, 1);
    };
  };
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
      if (held) held.push(event as HandoffEvent);
      else deliver([event as HandoffEvent]);
      return event;
    },
    on: (listener) => subscribe({ one: listener }),
    onMany: (listener) => subscribe({ many: listener }),
    batch(fn) {
      if (held) return fn();
      held = [];
      try {
        return fn();
      } finally {
        const events = held ?? [];
        held = null;
        if (events.length > 0) deliver(events);
      }
    },
  };
}
