/**
 * The acknowledged-writes invariants, Jepsen's set checker over the history and the final writer's
 * rows: `lost` (acknowledged, no row), `duplicated` (more than one row for one request id: a write
 * applied twice), `unexpected` (a row for a write that definitely failed, or that nobody attempted).
 * Writes with an unknown outcome (`info`, or no completion) may be present once or absent.
 */
import type { HistoryOp, WriteKind } from '../history.js';
import { WRITE_KINDS } from '../history.js';

/** A row the final read found: its request id and the id the database gave it. */
export interface FinalRow {
  requestId: string;
  id: string;
}

export type FinalRows = Record<WriteKind, readonly FinalRow[]>;

export interface WriteOutcome {
  kind: WriteKind;
  process: string;
  outcome: 'ok' | 'fail' | 'info';
  /** When the write was acknowledged (epoch ms), for `ok`. */
  okAt: number | null;
  id: string | null;
}

export interface WriteFindings {
  attempted: number;
  acknowledged: number;
  /** Unknown outcomes found applied. */
  recovered: number;
  lost: string[];
  duplicated: string[];
  unexpected: string[];
}

/** Every write of the history by request id, with its outcome (no completion: `info`). */
export function writeOutcomes(history: readonly HistoryOp[]): Map<string, WriteOutcome> {
  const byOp = new Map<number, string>();
  const out = new Map<string, WriteOutcome>();
  for (const op of history) {
    if (!(WRITE_KINDS as readonly string[]).includes(op.f)) continue;
    if (op.type === 'invoke') {
      const requestId = String(op.value.requestId ?? '');
      byOp.set(op.op, requestId);
      out.set(requestId, { kind: op.f as WriteKind, process: op.process, outcome: 'info', okAt: null, id: null });
      continue;
    }
    const requestId = byOp.get(op.op);
    const write = requestId === undefined ? undefined : out.get(requestId);
    if (!write) continue;
    write.outcome = op.type;
    if (op.type === 'ok') {
      write.okAt = op.time;
      write.id = op.value.id === undefined ? null : String(op.value.id);
    }
  }
  return out;
}

/** Compares the attempted writes with the rows found on the final writer, kind by kind. */
export function checkWrites(writes: ReadonlyMap<string, WriteOutcome>, rows: FinalRows): WriteFindings {
  const found = new Map<string, number>();
  const findings: WriteFindings = {
    attempted: writes.size,
    acknowledged: 0,
    recovered: 0,
    lost: [],
    duplicated: [],
    unexpected: [],
  };
  for (const kind of WRITE_KINDS) {
    for (const row of rows[kind]) {
      const key = `${kind}:${row.requestId}`;
      found.set(key, (found.get(key) ?? 0) + 1);
      const write = writes.get(row.requestId);
      if (!write || write.kind !== kind) {
        if (found.get(key) === 1) findings.unexpected.push(row.requestId);
      }
    }
  }
  for (const [requestId, write] of writes) {
    const n = found.get(`${write.kind}:${requestId}`) ?? 0;
    if (n > 1) findings.duplicated.push(requestId);
    if (write.outcome === 'ok') {
      findings.acknowledged++;
      if (n === 0) findings.lost.push(requestId);
    } else if (write.outcome === 'fail' && n > 0) findings.unexpected.push(requestId);
    else if (write.outcome === 'info' && n > 0) findings.recovered++;
  }
  return findings;
}
