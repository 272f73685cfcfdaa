/**
 * The hold queue: while a hold is active, new requests of the held classes wait here (their bodies
 * unread) until release, in arrival order. Bounded in time (the hold releases by itself at its
 * deadline) and in count (beyond it the caller answers 503 with Retry-After).
 */
import type { HoldState, ReleaseRecord } from '../router.js';
import type { RequestClass } from '../routes.js';

export interface HoldEntry {
  cls: RequestClass;
  /** Called once, at release, to send the request on to the routes current then. */
  resume(): void;
}

export interface HoldStart {
  classes: RequestClass[];
  maxHoldMs: number;
  maxQueued: number;
}

export interface HoldQueue {
  holds(cls: RequestClass): boolean;
  /** Starts a hold, or renews an active one: classes are added, the deadline restarts, the queue stays. */
  start(options: HoldStart): { deadline: number };
  /** Queues the entry; false when the queue is full. */
  enqueue(entry: HoldEntry): boolean;
  /** Forgets an entry whose client went away. */
  remove(entry: HoldEntry): void;
  /** Releases every queued entry in arrival order; null when no hold was active. */
  release(reason: ReleaseRecord['reason']): ReleaseRecord | null;
  /** Seconds a refused client should wait before trying again. */
  retryAfterSeconds(): number;
  state(): HoldState;
  /** Stops the timer; queued entries are released. */
  close(): void;
}

export interface HoldQueueDeps {
  now?: () => number;
  onRelease?: (record: ReleaseRecord) => void;
  onFull?: (cls: RequestClass, queued: number, maxQueued: number) => void;
}

export function createHoldQueue(deps: HoldQueueDeps = {}): HoldQueue {
  const now = deps.now ?? Date.now;
  let classes = new Set<RequestClass>();
  let entries: HoldEntry[] = [];
  let maxQueued = 0;
  let since: number | null = null;
  let deadline: number | null = null;
  let firstHeldAt: number | null = null;
  let fullReported = false;
  let timer: NodeJS.Timeout | null = null;
  let lastRelease: ReleaseRecord | null = null;

  const release = (reason: ReleaseRecord['reason']): ReleaseRecord | null => {
    if (since === null) return null;
    if (timer) clearTimeout(timer);
    timer = null;
    const at = now();
    const record: ReleaseRecord = {
      at: new Date(at).toISOString(),
      reason,
      released: entries.length,
      pauseMs: firstHeldAt === null ? null : at - firstHeldAt,
      heldMs: at - since,
    };
    const waiting = entries;
    entries = [];
    classes = new Set();
    since = null;
    deadline = null;
    firstHeldAt = null;
    lastRelease = record;
    for (const entry of waiting) entry.resume();
    deps.onRelease?.(record);
    return record;
  };

  return {
    holds: (cls) => since !== null && classes.has(cls),
    start(options) {
      const at = now();
      for (const cls of options.classes) classes.add(cls);
      maxQueued = options.maxQueued;
      if (since === null) {
        since = at;
        fullReported = false;
      }
      deadline = at + options.maxHoldMs;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => release('timeout'), options.maxHoldMs);
      return { deadline };
    },
    enqueue(entry) {
      if (entries.length >= maxQueued) {
        if (!fullReported) {
          fullReported = true;
          deps.onFull?.(entry.cls, entries.length, maxQueued);
        }
        return false;
      }
      if (firstHeldAt === null) firstHeldAt = now();
      entries.push(entry);
      return true;
    },
    remove(entry) {
      const index = entries.indexOf(entry);
      if (index >= 0) entries.splice(index, 1);
    },
    release,
    retryAfterSeconds: () => Math.max(1, Math.ceil(((deadline ?? now()) - now()) / 1000)),
    state: () => ({
      active: since !== null,
      classes: [...classes].sort(),
      queued: entries.length,
      since: since === null ? null : new Date(since).toISOString(),
      deadline: deadline === null ? null : new Date(deadline).toISOString(),
      lastRelease,
    }),
    close() {
      release('request');
    },
  };
}
