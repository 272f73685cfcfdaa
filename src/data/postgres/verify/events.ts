/**
 * Events of verification and repair (declaration merging into the run's one event stream), and
 * the function that emits them for a report, so the engine's verify stage, cutover and any audit
 * reader see the same facts: per table what was compared and found, and every repaired key.
 */
import type { EventBus } from '../../../common/events.js';
import type { RepairReport } from './repair.js';
import type { Key, VerifyReport } from './types.js';

declare module '../../../common/events.js' {
  interface EventPayloads {
    'pg-table-verified': {
      table: string;
      identical: boolean;
      sourceRows: number;
      targetRows: number;
      chunks: number;
      mismatchedChunks: number;
      missing: number;
      extra: number;
      changed: number;
      method: string;
      elapsedMs: number;
    };
    'pg-schema-difference': { table: string; kind: string; column?: string; message: string };
    'pg-rows-repaired': { table: string; deleted: Key[]; upserted: Key[]; triggersSuppressed: boolean };
  }
}

export function emitVerifyEvents(bus: EventBus, report: VerifyReport, actor = 'verify'): void {
  for (const difference of report.schemaDifferences) {
    bus.emit(
      'pg-schema-difference',
      {
        table: difference.table,
        kind: difference.kind,
        ...(difference.column ? { column: difference.column } : {}),
        message: difference.message,
      },
      { actor, subject: difference.table },
    );
  }
  for (const table of report.tables) {
    bus.emit(
      'pg-table-verified',
      {
        table: table.table,
        identical: table.identical,
        sourceRows: table.sourceRows,
        targetRows: table.targetRows,
        chunks: table.chunks,
        mismatchedChunks: table.mismatchedChunks,
        missing: table.missing.length,
        extra: table.extra.length,
        changed: table.changed.length,
        method: table.method,
        elapsedMs: table.elapsedMs,
      },
      { actor, subject: table.table },
    );
  }
}

/** One event per repaired table, naming every key it rewrote (for the audit trail). */
export function emitRepairEvents(bus: EventBus, repaired: RepairReport, actor = 'repair'): void {
  for (const table of repaired.tables) {
    bus.emit(
      'pg-rows-repaired',
      {
        table: table.table,
        deleted: table.keys.deleted,
        upserted: table.keys.upserted,
        triggersSuppressed: table.triggersSuppressed,
      },
      { actor, subject: table.table },
    );
  }
}
