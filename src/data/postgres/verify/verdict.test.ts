import { describe, expect, it } from 'vitest';
import type { TableReport, VerifyReport } from './types.js';
import { liveVerdict } from './verdict.js';

function table(name: string, overrides: Partial<TableReport> = {}): TableReport {
  return {
    table: name,
    sourceRows: 100,
    targetRows: 100,
    chunks: 2,
    mismatchedChunks: 0,
    missing: [],
    extra: [],
    changed: [],
    changedColumns: [],
    identical: true,
    method: 'chunked',
    primaryKey: ['id'],
    columns: ['id', 'v'],
    truncated: false,
    partial: false,
    notes: [],
    elapsedMs: 1,
    chunkDetails: [],
    ...overrides,
  };
}

function report(tables: TableReport[], schemaDifferences: VerifyReport['schemaDifferences'] = []): VerifyReport {
  return {
    identical: tables.every((t) => t.identical) && schemaDifferences.length === 0,
    rowsCompared: 0,
    elapsedMs: 1,
    tables,
    schemaDifferences,
    notes: [],
    rechecks: 2,
  };
}

describe('liveVerdict', () => {
  it('passes a table whose mismatched chunk had no differing row on a closer look (rows written during the pass)', () => {
    const moving = table('public.orders', { identical: false, mismatchedChunks: 1, sourceRows: 102 });
    const verdict = liveVerdict(report([table('public.accounts'), moving]));
    expect(verdict.identical).toBe(true);
    expect(verdict.moving.map((t) => t.table)).toEqual(['public.orders']);
    expect(verdict.diverged).toEqual([]);
  });

  it('fails on a differing key that survived the re-checks: missing, extra or changed', () => {
    const cases: Array<Partial<TableReport>> = [{ missing: [['1']] }, { extra: [['2']] }, { changed: [['3']] }];
    for (const keys of cases) {
      const verdict = liveVerdict(report([table('public.orders', { identical: false, mismatchedChunks: 1, ...keys })]));
      expect(verdict.identical).toBe(false);
      expect(verdict.diverged.map((t) => t.table)).toEqual(['public.orders']);
    }
  });

  it('fails when the key list was cut off, when the table was compared whole, or when the schemas differ', () => {
    expect(
      liveVerdict(report([table('a', { identical: false, mismatchedChunks: 1, truncated: true })])).identical,
    ).toBe(false);
    expect(
      liveVerdict(
        report([table('b', { identical: false, mismatchedChunks: 1, method: 'whole-table', primaryKey: [] })]),
      ).identical,
    ).toBe(false);
    expect(
      liveVerdict(
        report(
          [table('c')],
          [
            {
              table: 'c',
              kind: 'table-missing-on-target',
              message: 'c is missing',
            } as VerifyReport['schemaDifferences'][number],
          ],
        ),
      ).identical,
    ).toBe(false);
  });

  it('passes identical tables', () => {
    expect(liveVerdict(report([table('a'), table('b')]))).toEqual({ identical: true, diverged: [], moving: [] });
  });
});
