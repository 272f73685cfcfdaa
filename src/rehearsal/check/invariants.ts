/**
 * The rehearsal's verdict: the invariants over a workload's history and the final reads, named as
 * Jepsen names them, plus the facts about the sites (data identical on the writer, audit trail
 * valid, nothing left behind). Pure: the reads are made elsewhere (final-reads.ts, left-behind.ts).
 */
import type { HistoryOp } from '../history.js';
import { checkBank, type BankRead } from './bank.js';
import { checkReads } from './reads.js';
import { checkWrites, writeOutcomes, type FinalRows } from './writes.js';

/** The `invariants` object of `-o json` (issue 13). */
export interface Invariants {
  lost: number;
  unexpected: number;
  duplicated: number;
  stale: number;
  wrongTotal: number;
  negativeValue: number;
  readYourWritesViolations: number;
  dataIdentical: boolean;
  auditValid: boolean;
  leftBehind: string[];
}

export interface HistoryVerdict {
  counts: Pick<
    Invariants,
    'lost' | 'unexpected' | 'duplicated' | 'stale' | 'wrongTotal' | 'negativeValue' | 'readYourWritesViolations'
  >;
  /** Writes attempted, acknowledged, and unknown ones found applied; reads judged. */
  totals: { attempted: number; acknowledged: number; recovered: number; readsJudged: number; bankReads: number };
  /** Up to 20 request ids per violated invariant. */
  examples: { lost: string[]; unexpected: string[]; duplicated: string[]; stale: string[] };
}

export interface FinalReads {
  rows: FinalRows;
  bank: BankRead;
}

export interface HistoryCheckOptions {
  expectedTotal: bigint;
  /** Reads sent this long after an acknowledgement must see it (the plan's `consistency.maxReadLag`). */
  maxReadLagMs?: number;
}

const first = (list: string[]): string[] => list.slice(0, 20);

export function checkHistory(
  history: readonly HistoryOp[],
  final: FinalReads,
  options: HistoryCheckOptions,
): HistoryVerdict {
  const writes = writeOutcomes(history);
  const w = checkWrites(writes, final.rows);
  const r = checkReads(history, writes, { maxReadLagMs: options.maxReadLagMs ?? 0 });
  const b = checkBank(history, final.bank, options.expectedTotal);
  return {
    counts: {
      lost: w.lost.length,
      unexpected: w.unexpected.length,
      duplicated: w.duplicated.length,
      stale: r.stale,
      wrongTotal: b.wrongTotal,
      negativeValue: b.negativeValue,
      readYourWritesViolations: r.readYourWritesViolations,
    },
    totals: {
      attempted: w.attempted,
      acknowledged: w.acknowledged,
      recovered: w.recovered,
      readsJudged: r.judged,
      bankReads: b.reads,
    },
    examples: {
      lost: first(w.lost),
      unexpected: first(w.unexpected),
      duplicated: first(w.duplicated),
      stale: first(r.examples.map((e) => e.requestId)),
    },
  };
}

/** Every invariant holds: no count above zero, data identical, the trail valid, nothing left behind. */
export function invariantsHold(invariants: Invariants): boolean {
  return (
    invariants.lost === 0 &&
    invariants.unexpected === 0 &&
    invariants.duplicated === 0 &&
    invariants.stale === 0 &&
    invariants.wrongTotal === 0 &&
    invariants.negativeValue === 0 &&
    invariants.readYourWritesViolations === 0 &&
    invariants.dataIdentical &&
    invariants.auditValid &&
    invariants.leftBehind.length === 0
  );
}

/** The names of the invariants that do not hold (for messages and exit 1). */
export function violatedInvariants(invariants: Invariants): string[] {
  const out: string[] = [];
  for (const key of [
    'lost',
    'unexpected',
    'duplicated',
    'stale',
    'wrongTotal',
    'negativeValue',
    'readYourWritesViolations',
  ] as const)
    if (invariants[key] > 0) out.push(`${key} ${invariants[key]}`);
  if (!invariants.dataIdentical) out.push('data not identical');
  if (!invariants.auditValid) out.push('audit trail invalid');
  if (invariants.leftBehind.length > 0) out.push(`left behind: ${invariants.leftBehind.join(', ')}`);
  return out;
}
