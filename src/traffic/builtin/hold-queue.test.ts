import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ReleaseRecord } from '../router.js';
import { createHoldQueue, type HoldEntry } from './hold-queue.js';

afterEach(() => {
  vi.useRealTimers();
});

/** Queues `count` writes that record when they are sent and keep the function that answers them. */
function queueWrites(q: ReturnType<typeof createHoldQueue>, count: number) {
  const sent: number[] = [];
  const answers: Array<() => void> = [];
  for (let i = 0; i < count; i++) {
    const entry: HoldEntry = {
      cls: 'writes',
      resume: (answered) => {
        sent.push(i);
        answers[i] = answered;
      },
    };
    q.enqueue(entry);
  }
  return { sent, answer: (i: number) => answers[i]?.() };
}

describe('hold queue', () => {
  it('releases in arrival order and measures the pause from the first held request', () => {
    let now = 1000;
    const released: ReleaseRecord[] = [];
    const q = createHoldQueue({ now: () => now, onRelease: (r) => released.push(r) });
    q.start({ classes: ['writes'], maxHoldMs: 60_000, maxQueued: 10 });
    expect(q.holds('writes')).toBe(true);
    expect(q.holds('reads')).toBe(false);
    const order: number[] = [];
    now = 1100;
    for (let i = 0; i < 3; i++) expect(q.enqueue({ cls: 'writes', resume: () => order.push(i) })).toBe(true);
    now = 1350;
    const record = q.release('request');
    expect(order).toEqual([0, 1, 2]);
    expect(record).toMatchObject({ reason: 'request', released: 3, pauseMs: 250, heldMs: 350 });
    expect(released).toHaveLength(1);
    expect(q.release('request')).toBeNull();
    expect(q.state()).toMatchObject({ active: false, queued: 0, lastRelease: { released: 3 } });
  });

  it('refuses beyond its bound, reports a full queue once, and forgets entries whose client left', () => {
    const full: number[] = [];
    const q = createHoldQueue({ onFull: (_c, queued) => full.push(queued) });
    q.start({ classes: ['writes'], maxHoldMs: 60_000, maxQueued: 2 });
    const gone = { cls: 'writes' as const, resume: () => undefined };
    expect(q.enqueue(gone)).toBe(true);
    expect(q.enqueue({ cls: 'writes', resume: () => undefined })).toBe(true);
    expect(q.enqueue({ cls: 'writes', resume: () => undefined })).toBe(false);
    expect(q.enqueue({ cls: 'writes', resume: () => undefined })).toBe(false);
    expect(full).toEqual([2]);
    q.remove(gone);
    expect(q.state().queued).toBe(1);
    expect(q.retryAfterSeconds()).toBe(60);
    expect(q.release('request')?.released).toBe(1);
  });

  it('releases by itself at the deadline', async () => {
    const q = createHoldQueue();
    let resumed = false;
    const done = new Promise<ReleaseRecord>((resolve) => {
      const queue = createHoldQueue({ onRelease: resolve });
      queue.start({ classes: ['reads'], maxHoldMs: 30, maxQueued: 5 });
      queue.enqueue({ cls: 'reads', resume: () => (resumed = true) });
    });
    expect((await done).reason).toBe('timeout');
    expect(resumed).toBe(true);
    q.close();
  });

  it('sends the released queue on in arrival order, releaseConcurrency at first and two more for each answered, and says when all are answered', async () => {
    const q = createHoldQueue({ releaseConcurrency: 2, slotMs: 60_000, spreadMs: 60_000 });
    q.start({ classes: ['writes'], maxHoldMs: 60_000, maxQueued: 20 });
    const { sent, answer } = queueWrites(q, 9);
    expect(await q.answered(1000)).toEqual({ drained: true, inFlight: 0, waitedMs: 0 }); // nothing released yet
    expect(q.release('request')?.released).toBe(9);
    expect(sent).toEqual([0, 1]);
    answer(1);
    expect(sent).toEqual([0, 1, 2, 3]);
    answer(1); // answered twice: opens nothing more
    expect(sent).toEqual([0, 1, 2, 3]);
    const all = q.answered(60_000);
    answer(0);
    expect(sent).toEqual([0, 1, 2, 3, 4, 5]);
    answer(2);
    expect(sent).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    answer(3);
    expect(sent).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    for (const i of [4, 5, 6, 7]) answer(i);
    expect(await Promise.race([all, Promise.resolve('waiting')])).toBe('waiting'); // the last is not answered
    answer(8);
    expect(await all).toMatchObject({ drained: true, inFlight: 0 });
  });

  it('gives a slot up after slotMs without opening another, and sends what still waits at once after spreadMs', () => {
    vi.useFakeTimers();
    const q = createHoldQueue({ releaseConcurrency: 1, slotMs: 10, spreadMs: 35 });
    q.start({ classes: ['writes'], maxHoldMs: 60_000, maxQueued: 20 });
    const { sent } = queueWrites(q, 8);
    q.release('request');
    expect(sent).toEqual([0]);
    vi.advanceTimersByTime(10); // 0 hangs: its slot goes to 1, and only to 1
    expect(sent).toEqual([0, 1]);
    vi.advanceTimersByTime(10);
    expect(sent).toEqual([0, 1, 2]);
    vi.advanceTimersByTime(10);
    expect(sent).toEqual([0, 1, 2, 3]);
    vi.advanceTimersByTime(5); // 35 ms after the release: the rest, at once, in order
    expect(sent).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(vi.getTimerCount()).toBeGreaterThan(0); // the slots' own timers, which free nothing more
    vi.advanceTimersByTime(1000);
    expect(sent).toHaveLength(8);
    q.close();
  });

  it('sets no spread timer when the whole queue fits in the first window', () => {
    vi.useFakeTimers();
    const q = createHoldQueue({ releaseConcurrency: 4, slotMs: 60_000, spreadMs: 10 });
    q.start({ classes: ['writes'], maxHoldMs: 60_000, maxQueued: 20 });
    const { sent, answer } = queueWrites(q, 3);
    q.release('request');
    expect(sent).toEqual([0, 1, 2]);
    for (const i of [0, 1, 2]) answer(i);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("gives a hanging request's slot to the next one after slotMs, and answered() stops at its bound", async () => {
    // Fake timers: on real ones, a stall of the test process past the bound ran the bound's timer
    // in the same turn as the first slot's, before the third request's turn came.
    vi.useFakeTimers();
    const q = createHoldQueue({ releaseConcurrency: 1, slotMs: 10, spreadMs: 60_000 });
    q.start({ classes: ['writes'], maxHoldMs: 60_000, maxQueued: 10 });
    const sent: number[] = [];
    for (let i = 0; i < 3; i++) q.enqueue({ cls: 'writes', resume: () => sent.push(i) });
    q.release('request');
    expect(sent).toEqual([0]);
    const answered = q.answered(100);
    await vi.advanceTimersByTimeAsync(10);
    expect(sent).toEqual([0, 1]);
    await vi.advanceTimersByTimeAsync(90);
    const result = await answered;
    expect(sent).toEqual([0, 1, 2]);
    expect(result).toMatchObject({ drained: false, inFlight: 3, waitedMs: 100 });
  });
});
