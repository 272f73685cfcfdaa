/** Options of the PostgreSQL data plane (`createPostgresDataPlane`). Every wait has a bound. */
import type pg from 'pg';
import type { TableName } from './connect.js';

export interface DirtyDifference {
  table: string;
  missing: string[][];
  extra: string[][];
  changed: string[][];
  /** True when the whole table was compared (no primary key, or a TRUNCATE). */
  wholeTable: boolean;
}

/**
 * Re-checks the keys that changed since the last clean verification pass (cutover's final check and
 * the pre-hold settling; one implementation, verify/recheck-keys.ts). `keys: 'all'` means compare the
 * whole table.
 */
export type DirtyRecheck = (input: {
  source: pg.Client;
  target: pg.Client;
  table: TableName;
  keys: string[][] | 'all';
}) => Promise<DirtyDifference>;

export interface PostgresDataPlaneOptions {
  /** Initial copy bound (ms); 1 hour by default. */
  copyTimeoutMs?: number;
  /**
   * A table copy running longer than this (ms) is let finish rather than cut by a throttle pause
   * (native table sync would start it again from its first row); 10 s by default.
   */
  cutCopyMaxMs?: number;
  /** Bound on waiting for a heartbeat marker (ms); 60 s by default. */
  markerTimeoutMs?: number;
  /** Before fencing the source, the marker must arrive within this (ms); 5 s by default. */
  maxLagToStartMs?: number;
  /** Bound on draining in-flight writers at a fence (ms); 5 s by default, then they are ended. */
  fenceDrainMs?: number;
  /** Statement timeout of handoff's own sessions (ms); 60 s by default. */
  statementTimeoutMs?: number;
  /** Poll interval for progress and markers (ms); 50 by default. */
  pollMs?: number;
  /** Leave the source fenced at finalize (the old database must not take writes); true by default. */
  keepSourceFenced?: boolean;
  /** Re-establish forward replication at failback (so cutover can be tried again); true by default. */
  reestablishForward?: boolean;
  /**
   * The connection string a subscriber uses to reach the publisher, from the URL handoff uses.
   * Default: the same URL, with the run's replication role and its password (random, made when the
   * subscription is). Use it when servers see each other under other names, or to add settings (TLS
   * files). The string is stored in pg_subscription on the subscriber; the password cannot be left
   * out of it by a password file, which would have to hold that run's random password.
   */
  subscriptionConnection?: (publisher: 'source' | 'target', url: string) => string;
}
