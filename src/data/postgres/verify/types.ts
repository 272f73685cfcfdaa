/**
 * The shapes verification reports and consumes. A key is the primary-key column values in key
 * order, each in PostgreSQL's text form (`["42"]`, `["7","eu"]`), read with pinned session settings.
 */

export type Key = string[];

/**
 * A half-open key range: `lower <= key < upper` in the primary key's order (the index's order,
 * collations included). `null` means unbounded on that side.
 */
export interface KeyRange {
  lower: Key | null;
  upper: Key | null;
}

/** One chunk of one table, as hashed on both sides. Boundaries come from the source. */
export interface ChunkReport extends KeyRange {
  /** Position of the chunk in the table's key order, from 0. Stable for the boundaries it names. */
  id: number;
  sourceRows: number;
  targetRows: number;
  /** Order-independent aggregate of the row hashes (a decimal integer, exact). */
  sourceHash: string;
  targetHash: string;
  matched: boolean;
}

export type SchemaDifferenceKind =
  | 'table-missing-on-target'
  | 'table-missing-on-source'
  | 'column-missing-on-target'
  | 'column-extra-on-target'
  | 'column-type'
  | 'primary-key';

export interface SchemaDifference {
  table: string;
  kind: SchemaDifferenceKind;
  column?: string;
  /** What the source has (a type, a key's column list). */
  source?: string;
  /** What the target has. */
  target?: string;
  message: string;
}

export type CompareMethod = 'chunked' | 'whole-table' | 'skipped';

export interface TableReport {
  /** `schema.table`, quoted only where needed. */
  table: string;
  sourceRows: number;
  targetRows: number;
  chunks: number;
  mismatchedChunks: number;
  /** Keys on the source, not on the target. */
  missing: Key[];
  /** Keys on the target, not on the source. */
  extra: Key[];
  /** Keys on both sides whose rows differ. */
  changed: Key[];
  /** For the first changed keys (up to 100), the columns whose values differ. */
  changedColumns: Array<{ key: Key; columns: string[] }>;
  identical: boolean;
  method: CompareMethod;
  primaryKey: string[];
  /** The columns compared, in the order they are hashed (the source's order, shared columns only). */
  columns: string[];
  /** True when localisation stopped at `maxDifferences`; the key lists are then incomplete. */
  truncated: boolean;
  /** True when only some chunks were compared (`onlyChunks`). */
  partial: boolean;
  notes: string[];
  elapsedMs: number;
  /** Boundaries and hashes of every chunk compared, so a later pass can re-check named chunks. */
  chunkDetails: ChunkReport[];
}

export interface VerifyReport {
  identical: boolean;
  /** Rows compared: for each table, the larger of its two row counts, summed. */
  rowsCompared: number;
  elapsedMs: number;
  tables: TableReport[];
  schemaDifferences: SchemaDifference[];
  notes: string[];
  /** How many times mismatching chunks were re-checked after the `recheck` hook. */
  rechecks: number;
}

export interface VerifyProgress {
  table: string;
  chunksDone: number;
  chunksTotal: number;
  rowsDone: number;
}
