/**
 * The bank invariants: every read of the bank's total during the run, and the final read, must show
 * the initial total (`wrong-total`) and no account below zero (`negative-value`).
 */
import type { HistoryOp } from '../history.js';

export interface BankRead {
  total: bigint;
  negative: number;
}

export interface BankFindings {
  /** Reads judged: the completed total reads of the history, and the final read. */
  reads: number;
  wrongTotal: number;
  negativeValue: number;
}

function toBigInt(value: unknown): bigint | null {
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  try {
    return BigInt(value);
  } catch {
    return null;
  }
}

export function checkBank(history: readonly HistoryOp[], final: BankRead, expectedTotal: bigint): BankFindings {
  const findings: BankFindings = { reads: 0, wrongTotal: 0, negativeValue: 0 };
  const judge = (total: bigint | null, negative: number): void => {
    findings.reads++;
    if (total !== expectedTotal) findings.wrongTotal++;
    if (negative > 0) findings.negativeValue++;
  };
  for (const op of history) {
    if (op.f !== 'read-total' || op.type !== 'ok') continue;
    judge(toBigInt(op.value.total), Number(op.value.negative ?? 0));
  }
  judge(final.total, final.negative);
  return findings;
}
