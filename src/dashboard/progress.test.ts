import { describe, expect, it } from 'vitest';
import type { StoredRecord } from '../audit/format.js';
import { tableProgress } from './progress.js';

let seq = 0;
function record(action: string, time: string, details: Record<string, unknown>): StoredRecord {
  seq++;
  return {
    seq,
    time,
    runId: 'r',
    actor: 'engine',
    action,
    subject: '',
    details,
    prevHash: '0'.repeat(64),
    hash: '0'.repeat(64),
  };
}

describe('table progress', () => {
  it('never reads 100 % for a verification before the table result is recorded, with rows/s and an ETA', () => {
    const records = [
      record('pg-verify-progress', '2026-01-01T00:00:00.000Z', {
        table: 'public.orders',
        chunksDone: 1,
        chunksTotal: 10,
        rowsDone: 1000,
      }),
      record('pg-verify-progress', '2026-01-01T00:00:09.000Z', {
        table: 'public.orders',
        chunksDone: 10,
        chunksTotal: 10,
        rowsDone: 10_000,
      }),
    ];
    const [running] = tableProgress(records);
    expect(running).toMatchObject({ kind: 'verify', table: 'public.orders', percent: 99, done: false, rows: 10_000 });
    expect(running?.rowsPerSecond).toBeCloseTo(10_000 / 9);
    const half = tableProgress([
      record('pg-verify-progress', '2026-01-01T00:00:00.000Z', {
        table: 't',
        chunksDone: 0,
        chunksTotal: 4,
        rowsDone: 0,
      }),
      record('pg-verify-progress', '2026-01-01T00:00:10.000Z', {
        table: 't',
        chunksDone: 2,
        chunksTotal: 4,
        rowsDone: 500,
      }),
    ])[0];
    expect(half).toMatchObject({ percent: 50, etaSeconds: 10 });
    records.push(
      record('pg-table-verified', '2026-01-01T00:00:10.000Z', {
        table: 'public.orders',
        identical: false,
        sourceRows: 10_000,
        targetRows: 9_999,
        missing: 1,
        extra: 0,
        changed: 0,
        elapsedMs: 10_000,
      }),
    );
    expect(tableProgress(records)[0]).toMatchObject({
      percent: 100,
      done: true,
      state: '1 difference',
      rowsPerSecond: 1000,
    });
  });

  it('gives the copy no percentage until PostgreSQL reports the table synchronised', () => {
    const copying = [
      record('pg-copy-progress', '2026-01-01T00:00:00.000Z', {
        database: 'shop',
        ready: false,
        tables: [{ table: 'orders', state: 'd', rowsCopied: 0 }],
      }),
      record('pg-copy-progress', '2026-01-01T00:00:02.000Z', {
        database: 'shop',
        ready: false,
        tables: [{ table: 'orders', state: 'd', rowsCopied: 4000 }],
      }),
    ];
    expect(tableProgress(copying)[0]).toMatchObject({
      kind: 'copy',
      percent: null,
      etaSeconds: null,
      rowsPerSecond: 2000,
      state: 'copying',
    });
    copying.push(
      record('pg-copy-progress', '2026-01-01T00:00:03.000Z', {
        database: 'shop',
        ready: true,
        tables: [{ table: 'orders', state: 'r', rowsCopied: 5000 }],
      }),
    );
    expect(tableProgress(copying)[0]).toMatchObject({ percent: 100, done: true, state: 'ready' });
  });
});
