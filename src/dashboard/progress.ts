/**
 * Copy and verification progress per table, from a run's audit records (pure): rows so far, rows/s,
 * a percentage only where the amount of work is known, and an ETA. It never reads 100 % before the
 * work is done: a percentage from chunk counts stops at 99 until the table's result is recorded, and
 * the copy (whose total PostgreSQL does not report) shows no percentage until the table is synchronised.
 */
import { z } from 'zod';
import type { StoredRecord } from '../audit/format.js';

export interface TableProgress {
  kind: 'copy' | 'verify';
  database: string | null;
  table: string;
  rows: number;
  rowsPerSecond: number | null;
  /** 0-100; null when the total is unknown. */
  percent: number | null;
  etaSeconds: number | null;
  done: boolean;
  /** In words: `copying`, `synchronised`, `identical`, `3 differences`, `chunk 4 of 9`. */
  state: string;
  at: string;
}

const copySchema = z.object({
  database: z.string(),
  ready: z.boolean(),
  tables: z.array(z.object({ table: z.string(), state: z.string(), rowsCopied: z.number().nullable() })),
});

const verifiedSchema = z.object({
  table: z.string(),
  identical: z.boolean(),
  sourceRows: z.number(),
  targetRows: z.number(),
  missing: z.number(),
  extra: z.number(),
  changed: z.number(),
  elapsedMs: z.number(),
});

/** A verification's running count (any `*verify-progress` action with these fields). */
const verifyProgressSchema = z.object({
  table: z.string(),
  database: z.string().optional(),
  chunksDone: z.number().int().min(0),
  chunksTotal: z.number().int().min(0),
  rowsDone: z.number().min(0),
});

const COPY_STATES: Record<string, string> = {
  i: 'initialising',
  d: 'copying',
  f: 'copied, catching up',
  s: 'synchronised',
  r: 'ready',
};

function rate(rows: number, fromMs: number, toMs: number): number | null {
  const seconds = (toMs - fromMs) / 1000;
  return seconds > 0 && rows > 0 ? rows / seconds : null;
}

function copyProgress(records: StoredRecord[]): TableProgress[] {
  const out = new Map<string, TableProgress & { firstMs: number; firstRows: number }>();
  for (const record of records) {
    if (record.action !== 'pg-copy-progress') continue;
    const parsed = copySchema.safeParse(record.details);
    if (!parsed.success) continue;
    const at = Date.parse(record.time);
    for (const t of parsed.data.tables) {
      const key = `${parsed.data.database}/${t.table}`;
      const rows = t.rowsCopied ?? 0;
      const previous = out.get(key);
      const done = t.state === 'r' || t.state === 's' || parsed.data.ready;
      const firstMs = previous?.firstMs ?? at;
      const firstRows = previous?.firstRows ?? rows;
      out.set(key, {
        kind: 'copy',
        database: parsed.data.database,
        table: t.table,
        rows,
        rowsPerSecond: rate(rows - firstRows, firstMs, at) ?? previous?.rowsPerSecond ?? null,
        percent: done ? 100 : null,
        etaSeconds: done ? 0 : null,
        done,
        state: COPY_STATES[t.state] ?? t.state,
        at: record.time,
        firstMs,
        firstRows,
      });
    }
  }
  return [...out.values()].map(({ firstMs: _f, firstRows: _r, ...p }) => p);
}

function verifyProgress(records: StoredRecord[]): TableProgress[] {
  const out = new Map<string, TableProgress & { startMs: number }>();
  for (const record of records) {
    const at = Date.parse(record.time);
    if (record.action.endsWith('verify-progress')) {
      const parsed = verifyProgressSchema.safeParse(record.details);
      if (!parsed.success) continue;
      const p = parsed.data;
      const previous = out.get(p.table);
      // A new pass (fewer chunks done than before, or after a result) starts the clock again.
      const fresh = !previous || previous.done || p.chunksDone < Number(/\d+/.exec(previous.state)?.[0] ?? 0);
      const startMs = fresh ? at : previous.startMs;
      const fraction = p.chunksTotal > 0 ? p.chunksDone / p.chunksTotal : 0;
      const elapsed = (at - startMs) / 1000;
      out.set(p.table, {
        kind: 'verify',
        database: p.database ?? null,
        table: p.table,
        rows: p.rowsDone,
        rowsPerSecond: rate(p.rowsDone, startMs, at),
        // Never 100 before the table's result is recorded.
        percent: Math.min(99, Math.floor(fraction * 100)),
        etaSeconds: fraction > 0 && elapsed > 0 ? Math.round((elapsed * (1 - fraction)) / fraction) : null,
        done: false,
        state: `chunk ${p.chunksDone} of ${p.chunksTotal}`,
        at: record.time,
        startMs,
      });
    } else if (record.action === 'pg-table-verified') {
      const parsed = verifiedSchema.safeParse(record.details);
      if (!parsed.success) continue;
      const v = parsed.data;
      const rows = Math.max(v.sourceRows, v.targetRows);
      const differences = v.missing + v.extra + v.changed;
      out.set(v.table, {
        kind: 'verify',
        database: out.get(v.table)?.database ?? null,
        table: v.table,
        rows,
        rowsPerSecond: v.elapsedMs > 0 ? rows / (v.elapsedMs / 1000) : null,
        percent: 100,
        etaSeconds: 0,
        done: true,
        state: v.identical ? 'identical' : `${differences} difference${differences === 1 ? '' : 's'}`,
        at: record.time,
        startMs: at - v.elapsedMs,
      });
    }
  }
  return [...out.values()].map(({ startMs: _s, ...p }) => p);
}

export function tableProgress(records: StoredRecord[]): TableProgress[] {
  return [...copyProgress(records), ...verifyProgress(records)];
}
