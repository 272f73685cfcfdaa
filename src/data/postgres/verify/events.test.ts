import { describe, expect, it } from 'vitest';
import { createEventBus, type HandoffEvent } from '../../../common/events.js';
import { emitRepairEvents, emitVerifyEvents } from './events.js';
import type { TableReport, VerifyReport } from './types.js';

const table: TableReport = {
  table: 'public.orders',
  sourceRows: 10,
  targetRows: 11,
  chunks: 2,
  mismatchedChunks: 1,
  missing: [['3']],
  extra: [['11'], ['12']],
  changed: [],
  changedColumns: [],
  identical: false,
  method: 'chunked',
  primaryKey: ['id'],
  columns: ['id', 'v'],
  truncated: false,
  partial: false,
  notes: [],
  elapsedMs: 5,
  chunkDetails: [],
};

describe('verification events', () => {
  it('emits one event per schema difference and per table, and one per repaired table with its keys', () => {
    const bus = createEventBus({ runId: 'r1' });
    const seen: HandoffEvent[] = [];
    bus.on((event) => seen.push(event));
    const report: VerifyReport = {
      identical: false,
      rowsCompared: 11,
      elapsedMs: 9,
      tables: [table],
      schemaDifferences: [
        { table: 'public.orders', kind: 'column-missing-on-target', column: 'v', message: 'v is missing' },
      ],
      notes: [],
      rechecks: 0,
    };
    emitVerifyEvents(bus, report);
    emitRepairEvents(bus, {
      tables: [
        {
          table: 'public.orders',
          deleted: 2,
          inserted: 1,
          updated: 0,
          triggersSuppressed: true,
          keys: { deleted: [['11'], ['12']], upserted: [['3']] },
        },
      ],
      skipped: [],
    });
    expect(seen.map((event) => [event.type, event.subject, event.runId])).toEqual([
      ['pg-schema-difference', 'public.orders', 'r1'],
      ['pg-table-verified', 'public.orders', 'r1'],
      ['pg-rows-repaired', 'public.orders', 'r1'],
    ]);
    expect(seen[1]?.data).toMatchObject({ identical: false, missing: 1, extra: 2, changed: 0 });
    expect(seen[2]?.data).toEqual({
      table: 'public.orders',
      deleted: [['11'], ['12']],
      upserted: [['3']],
      triggersSuppressed: true,
    });
  });
});
