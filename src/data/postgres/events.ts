/** Events the PostgreSQL data plane emits (declaration merging into the run's one event stream). */
import type { TableSyncState } from './subscription.js';

declare module '../../common/events.js' {
  interface EventPayloads {
    'pg-copy-progress': { database: string; tables: TableSyncState[]; ready: boolean };
    /**
     * A table's copy has run for `copyingMs` (at least `cutCopyMaxMs`): the throttle no longer
     * pauses the copy until it ends, since native table sync would start it again from its first row.
     */
    'pg-copy-unpausable': { database: string; table: string; copyingMs: number; cutCopyMaxMs: number };
    /**
     * A verification pass going through one table (verify-step.ts): chunks compared so far of the
     * table's chunks, and the rows they held; at most one every VERIFY_PROGRESS_EVERY_MS per table,
     * and always the last chunk's. `chunksTotal` is known once the table's boundaries are read.
     */
    'pg-verify-progress': {
      database: string;
      table: string;
      chunksDone: number;
      chunksTotal: number;
      rowsDone: number;
    };
    'pg-marker-seen': { database: string; direction: 'forward' | 'reverse'; seq: number; waitedMs: number };
    'pg-fenced': { database: string; site: 'source' | 'target'; method: string; grants: number; terminated: number };
    'pg-unfenced': { database: string; site: 'source' | 'target'; grants: number; writesRefusedMs: number | null };
    'pg-sequences-synced': { database: string; from: 'source' | 'target'; sequences: number };
    'pg-dirty-rechecked': { database: string; tables: number; keys: number; differences: number; elapsedMs: number };
    /** Secondary indexes dropped on the target before the initial copy, to be built after it (deferred-indexes.ts). */
    'pg-indexes-deferred': { database: string; indexes: string[] };
    /** One deferred index built again on the target after the copy. */
    'pg-index-built': { database: string; index: string; table: string; elapsedMs: number };
    /** A copied table vacuumed and analysed on the target after the copy (replicate's `vacuum-copied`). */
    'pg-table-vacuumed': { database: string; table: string; elapsedMs: number };
    'pg-replication-changed': { database: string; what: string; name: string; action: 'created' | 'dropped' };
  }
}

export {};
