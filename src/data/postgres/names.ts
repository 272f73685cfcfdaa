/**
 * Names of everything handoff creates for one run and one database, derived from the run id so that
 * several migrations coexist on the same servers and a replayed step finds what it made.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { HANDOFF_SCHEMA } from './catalog.js';

export interface ObjectNames {
  /** Publication on the source, subscription on the target, and the subscription's slot on the source. */
  forward: string;
  /** Publication on the target, subscription on the source (and its slot on the target), after cutover. */
  reverse: string;
  /** `handoff.<base>_marker` on both sides: the heartbeat rows. */
  marker: string;
  /** `handoff.<base>_fence` on both sides: what a fence revoked, written in the same transaction. */
  fence: string;
  /** `handoff.<base>_dirty` on the target: keys changed since the last clean verification. */
  dirty: string;
  dirtySeq: string;
  /** Raw (unquoted) prefix of the recording functions, one per tracked table: `<prefix>_<hash>`. */
  dirtyFunctionPrefix: string;
  /** Trigger name on each replicated table of the target. */
  dirtyTrigger: string;
  /** Raw (unquoted) base, for slot-name patterns. */
  base: string;
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/** `handoff_<run>_<db>`, at most 40 characters (PostgreSQL names stop at 63), a hash keeping it unique. */
export function baseName(runId: string, database: string): string {
  const full = `handoff_${slug(runId)}_${slug(database)}`;
  if (full.length <= 40) return full;
  const hash = createHash('sha256').update(`${runId}\u0000${database}`).digest('hex').slice(0, 8);
  return `${full.slice(0, 31)}_${hash}`;
}

export function objectNames(runId: string, database: string): ObjectNames {
  const base = baseName(runId, database);
  const q = (name: string): string => `${pg.escapeIdentifier(HANDOFF_SCHEMA)}.${pg.escapeIdentifier(name)}`;
  return {
    base,
    forward: base,
    reverse: `${base}_rev`,
    marker: q(`${base}_marker`),
    fence: q(`${base}_fence`),
    dirty: q(`${base}_dirty`),
    dirtySeq: q(`${base}_dirty_seq`),
    dirtyFunctionPrefix: `${base}_dirty_fn`,
    dirtyTrigger: `${base}_dirty`,
  };
}

/** Step names are kebab-case and unique within a stage: `pg-<database>-<what>`. */
export function stepPrefix(database: string): string {
  return `pg-${database
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')}-`;
}
