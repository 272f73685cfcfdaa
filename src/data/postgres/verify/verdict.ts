/**
 * What a verification pass run while replication goes on proves. A chunk whose hashes differed but
 * in which a second, row-level look found no differing row was being written during the pass: the
 * rows that moved are in the target's dirty-key record (changed after the pass's watermark, so not
 * forgotten by it), and the cutover re-checks them under the fence. That is lag, not divergence.
 * Divergence is a differing key that survives the re-check rounds, a list cut off by its bound, a
 * table compared whole (no key to look closer with), or a schema difference.
 */
import type { TableReport, VerifyReport } from './types.js';

export interface LiveVerdict {
  /** No divergence: the pass proves the data identical up to the rows still moving. */
  identical: boolean;
  /** Tables with differing keys (or that cannot be looked at closer), with the counts. */
  diverged: TableReport[];
  /** Tables whose only mismatches were rows written during the pass (left to the cutover's re-check). */
  moving: TableReport[];
}

function hasDifferingRows(table: TableReport): boolean {
  return table.missing.length + table.extra.length + table.changed.length > 0 || table.truncated;
}

export function liveVerdict(report: VerifyReport): LiveVerdict {
  const diverged = report.tables.filter((t) => !t.identical && (hasDifferingRows(t) || t.method === 'whole-table'));
  const moving = report.tables.filter((t) => !t.identical && !diverged.includes(t));
  return { identical: diverged.length === 0 && report.schemaDifferences.length === 0, diverged, moving };
}
