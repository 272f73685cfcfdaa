import { describe, expect, it } from 'vitest';
import type { HistoryOp, OpKind } from '../history.js';
import { checkHistory, invariantsHold, violatedInvariants, type FinalReads, type Invariants } from './invariants.js';
import { ALL_INVARIANTS_HOLD } from '../../../test/support/invariants.js';

const TOTAL = 50_000n;
let next = 0;

/** One operation: its invoke and (unless `null`) its completion. */
function op(
  f: OpKind,
  process: string,
  value: Record<string, unknown>,
  done: { type: 'ok' | 'fail' | 'info'; at: number; value?: Record<string, unknown> } | null,
  invokedAt = done ? done.at - 5 : 0,
): HistoryOp[] {
  const n = next++;
  const invoke: HistoryOp = { type: 'invoke', f, process, op: n, time: invokedAt, value };
  return done ? [invoke, { type: done.type, f, process, op: n, time: done.at, value: done.value ?? {} }] : [invoke];
}

const order = (requestId: string, process = 'c1', type: 'ok' | 'fail' | 'info' = 'ok', at = 100) =>
  op('order', process, { requestId }, { type, at, value: type === 'ok' ? { id: requestId.slice(1) } : {} });
const readOrder = (requestId: string, process: string, at: number, found: boolean) =>
  op('read-order', process, { requestId }, { type: 'ok', at: at + 2, value: { found } }, at);

function final(rows: Partial<FinalReads['rows']> = {}, bank = { total: TOTAL, negative: 0 }): FinalReads {
  return { rows: { order: [], transfer: [], event: [], ...rows }, bank };
}
const row = (requestId: string) => ({ requestId, id: requestId.slice(1) });

describe('checkHistory', () => {
  it('holds on a clean history: every acknowledged write present once, reads saw their writes', () => {
    const history = [
      ...order('o1'),
      ...order('o2', 'c2', 'info'),
      ...op('transfer', 'c1', { requestId: 't1' }, { type: 'ok', at: 120, value: { id: '1' } }),
      ...op('event', 'c3', { requestId: 'e1' }, { type: 'ok', at: 130, value: { id: '7' } }),
      ...readOrder('o1', 'c1', 200, true),
      ...op('read-total', 'c2', {}, { type: 'ok', at: 300, value: { total: '50000', negative: 0 } }),
    ];
    const verdict = checkHistory(history, final({ order: [row('o1')], transfer: [row('t1')], event: [row('e1')] }), {
      expectedTotal: TOTAL,
    });
    expect(verdict.counts).toEqual({
      lost: 0,
      unexpected: 0,
      duplicated: 0,
      stale: 0,
      wrongTotal: 0,
      negativeValue: 0,
      readYourWritesViolations: 0,
    });
    expect(verdict.totals).toEqual({ attempted: 4, acknowledged: 3, recovered: 0, readsJudged: 1, bankReads: 2 });
  });

  it('lost: an acknowledged write with no row', () => {
    const verdict = checkHistory([...order('o1'), ...order('o2')], final({ order: [row('o2')] }), {
      expectedTotal: TOTAL,
    });
    expect(verdict.counts.lost).toBe(1);
    expect(verdict.examples.lost).toEqual(['o1']);
  });

  it('an unknown outcome may be absent or present once: neither lost nor unexpected', () => {
    const history = [...order('o1', 'c1', 'info'), ...op('order', 'c1', { requestId: 'o2' }, null)];
    const absent = checkHistory(history, final(), { expectedTotal: TOTAL });
    const present = checkHistory(history, final({ order: [row('o1'), row('o2')] }), { expectedTotal: TOTAL });
    expect(absent.counts.lost + absent.counts.unexpected).toBe(0);
    expect(present.counts.lost + present.counts.unexpected).toBe(0);
    expect(present.totals.recovered).toBe(2);
  });

  it('duplicated: two rows for one request id, whatever the outcome', () => {
    const history = [
      ...op('event', 'c1', { requestId: 'e1' }, { type: 'ok', at: 10, value: { id: '1' } }),
      ...op('event', 'c1', { requestId: 'e2' }, { type: 'info', at: 10 }),
    ];
    const verdict = checkHistory(history, final({ event: [row('e1'), row('e1'), row('e2'), row('e2')] }), {
      expectedTotal: TOTAL,
    });
    expect(verdict.counts.duplicated).toBe(2);
    expect(verdict.examples.duplicated.sort()).toEqual(['e1', 'e2']);
  });

  it('unexpected: a row for a write that failed, or that nobody attempted, or under another kind', () => {
    const history = [...order('o1', 'c1', 'fail'), ...order('o2')];
    const verdict = checkHistory(history, final({ order: [row('o1'), row('o2'), row('x9')], event: [row('o2')] }), {
      expectedTotal: TOTAL,
    });
    expect(verdict.counts.unexpected).toBe(3);
    expect(verdict.examples.unexpected.sort()).toEqual(['o1', 'o2', 'x9']);
  });

  it('stale: a read sent after the acknowledgement (plus the allowed lag) that did not see the write', () => {
    const history = [
      ...order('o1', 'c1', 'ok', 100),
      ...readOrder('o1', 'c2', 150, false), // another client, within the allowed lag: not judged stale
      ...readOrder('o1', 'c2', 2000, false), // after the lag: stale
      ...readOrder('o1', 'c2', 50, false), // sent before the acknowledgement: concurrent, not judged
    ];
    const verdict = checkHistory(history, final({ order: [row('o1')] }), { expectedTotal: TOTAL, maxReadLagMs: 1000 });
    expect(verdict.counts.stale).toBe(1);
    expect(verdict.counts.readYourWritesViolations).toBe(0);
    expect(verdict.totals.readsJudged).toBe(2);
  });

  it('read-your-writes: the writer itself read its acknowledged write and did not see it', () => {
    const history = [...order('o1', 'c1', 'ok', 100), ...readOrder('o1', 'c1', 101, false)];
    const verdict = checkHistory(history, final({ order: [row('o1')] }), { expectedTotal: TOTAL, maxReadLagMs: 1000 });
    expect(verdict.counts.readYourWritesViolations).toBe(1);
    expect(verdict.counts.stale).toBe(0);
    const strict = checkHistory(history, final({ order: [row('o1')] }), { expectedTotal: TOTAL });
    expect(strict.counts.stale).toBe(1);
  });

  it('wrong-total and negative-value: from the reads of the total during the run and the final read', () => {
    const history = [
      ...op('read-total', 'c1', {}, { type: 'ok', at: 10, value: { total: '49990', negative: 0 } }),
      ...op('read-total', 'c1', {}, { type: 'ok', at: 20, value: { total: '50000', negative: 1 } }),
      ...op('read-total', 'c1', {}, { type: 'info', at: 30 }),
    ];
    const verdict = checkHistory(history, final({}, { total: 50_001n, negative: 2 }), { expectedTotal: TOTAL });
    expect(verdict.counts.wrongTotal).toBe(2);
    expect(verdict.counts.negativeValue).toBe(2);
    expect(verdict.totals.bankReads).toBe(3);
  });
});

describe('invariantsHold', () => {
  const clean: Invariants = { ...ALL_INVARIANTS_HOLD };
  it('holds only when every invariant holds, and names each that does not', () => {
    expect(invariantsHold(clean)).toBe(true);
    expect(violatedInvariants(clean)).toEqual([]);
    const broken: Array<[Partial<Invariants>, string]> = [
      [{ lost: 1 }, 'lost 1'],
      [{ unexpected: 2 }, 'unexpected 2'],
      [{ duplicated: 1 }, 'duplicated 1'],
      [{ stale: 1 }, 'stale 1'],
      [{ wrongTotal: 1 }, 'wrongTotal 1'],
      [{ negativeValue: 1 }, 'negativeValue 1'],
      [{ readYourWritesViolations: 3 }, 'readYourWritesViolations 3'],
      [{ dataIdentical: false }, 'data not identical'],
      [{ auditValid: false }, 'audit trail invalid'],
      [{ leftBehind: ['source: replication slot handoff_x'] }, 'left behind: source: replication slot handoff_x'],
    ];
    for (const [change, name] of broken) {
      expect(invariantsHold({ ...clean, ...change }), name).toBe(false);
      expect(violatedInvariants({ ...clean, ...change })).toEqual([name]);
    }
  });
});
