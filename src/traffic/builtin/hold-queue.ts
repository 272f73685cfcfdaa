/**
 * The hold queue: while a hold is active, new requests of the held classes wait here (their bodies
 * unread) until release, in arrival order. Bounded in time (the hold releases by itself at its
 * deadline) and in count (beyond it the caller answers 503 with Retry-After).
 *
 * At release the queue is sent on in arrival order, `releaseConcurrency` at a time to begin with:
 * the oldest held request (the one whose client waited longest) is answered first, and the site that
 * takes them is not handed the whole queue at once. Sent all at once, a queue of 30-60 writes
 * arriving on a just-opened database beside the full read traffic (the demo at 1,000 requests/s on
 * 2 cores) was answered 100-150 ms after the release, the oldest no sooner than the newest, and the
 * reads behind them waited as long; eight at a time, the oldest was answered within 30 ms.
 * Each answered request frees its slot and opens one more (the window doubles each round, like TCP's
 * slow start), so a site that answers quickly gets the queue in a few rounds; a slot whose request is
 * not answered within `slotMs` goes to the next one without opening another (a request that hangs
 * does not hold up the rest, and a slow site is not pushed harder). Whatever is still waiting
 * `spreadMs` after the release is sent at once: on a busy machine eight at a time took 547 ms to
 * answer 54 held writes, and the release must not stretch the clients' pause that far.
 * New requests after the release go straight on.
 */
import type { DrainResult, HoldState, ReleaseRecord } from '../router.js';
import type { RequestClass } from '../routes.js';

export interface HoldEntry {
  cls: RequestClass;
  /**
   * Called once, when the released queue reaches this request, to send it on to the routes current
   * then; `answered` is called when its exchange ends (answered, failed or abandoned).
   */
  resume(answered: () => void): void;
}

/** Requests of a released queue sent at once to begin with, by default. */
export const RELEASE_CONCURRENCY = 8;
/** After this long, a released request's slot goes to the next one even if it is not answered yet. */
export const RELEASE_SLOT_MS = 100;
/** After this long from the release, every request still waiting is sent at once. */
export const RELEASE_SPREAD_MS = 100;

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
  /**
   * Releases every queued entry, in arrival order, `releaseConcurrency` at a time to begin with and
   * more as they are answered, the rest at once after `spreadMs`; null when no hold was active.
   */
  release(reason: ReleaseRecord['reason']): ReleaseRecord | null;
  /**
   * Waits, at most `boundMs`, until every request of the last release has been answered; `inFlight`
   * counts those not answered yet (not yet sent, or sent and waiting).
   */
  answered(boundMs: number): Promise<DrainResult>;
  /** Seconds a refused client should wait before trying again. */
  retryAfterSeconds(): number;
  state(): HoldState;
  /** Stops the timer; queued entries are released. */
  close(): void;
}

export interface HoldQueueDeps {
  now?: () => number;
  /** Released requests sent at once to begin with (RELEASE_CONCURRENCY by default). */
  releaseConcurrency?: number;
  /** RELEASE_SLOT_MS by default. */
  slotMs?: number;
  /** RELEASE_SPREAD_MS by default. */
  spreadMs?: number;
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
  const concurrency = Math.max(1, deps.releaseConcurrency ?? RELEASE_CONCURRENCY);
  const slotMs = deps.slotMs ?? RELEASE_SLOT_MS;
  const spreadMs = deps.spreadMs ?? RELEASE_SPREAD_MS;
  // Requests of released queues not answered yet, and who waits for them to be.
  let unanswered = 0;
  let waiters: Array<() => void> = [];

  const settleWaiters = (): void => {
    if (unanswered > 0) return;
    const ready = waiters;
    waiters = [];
    for (const wake of ready) wake();
  };

  /**
   * Sends `waiting` on in order: `concurrency` at first, two more for each one answered (one for a
   * slot given up after `slotMs`), and the rest at once after `spreadMs`.
   */
  const drain = (waiting: readonly HoldEntry[]): void => {
    unanswered += waiting.length;
    let next = 0;
    let slots = concurrency;
    let spread: NodeJS.Timeout | null = null;
    const send = (): void => {
      while (slots > 0 && next < waiting.length) {
        const entry = waiting[next++] as HoldEntry;
        slots--;
        let freed = false;
        let answered = false;
        const free = (opens: number): void => {
          if (freed) return;
          freed = true;
          clearTimeout(slot);
          slots += opens;
          send();
        };
        const slot = setTimeout(() => free(1), slotMs);
        slot.unref?.();
        entry.resume(() => {
          if (answered) return;
          answered = true;
          unanswered--;
          free(2);
          settleWaiters();
        });
      }
      if (next >= waiting.length && spread) {
        clearTimeout(spread);
        spread = null;
      }
    };
    if (waiting.length > concurrency) {
      spread = setTimeout(() => {
        spread = null;
        slots = Number.POSITIVE_INFINITY;
        send();
      }, spreadMs);
      spread.unref?.();
    }
    send();
  };

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
    drain(waiting);
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
    answered(boundMs) {
      const started = now();
      if (unanswered === 0) return Promise.resolve({ drained: true, inFlight: 0, waitedMs: 0 });
      return new Promise((resolve) => {
        const done = (): void => {
          clearTimeout(bound);
          resolve({ drained: unanswered === 0, inFlight: unanswered, waitedMs: now() - started });
        };
        const bound = setTimeout(() => {
          waiters = waiters.filter((wake) => wake !== done);
          done();
        }, boundMs);
        waiters.push(done);
      });
    },
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
