/**
 * The durable state of runs: SQLite (better-sqlite3) in `<stateDir>/state.db`, WAL journal with
 * `synchronous=FULL` (a committed step survives a power loss), a busy timeout so several handoff
 * processes can share it, and a schema versioned by numbered migrations (`user_version`).
 *
 * The state directory is created only when something is written: `openStore({create: false})`
 * returns null when there is no store yet. The directory is 0700 and the files 0600. Every text
 * that goes in passes the redactor, so no secret is ever stored. A reader (`readOnly`) of a store it
 * cannot write reads a private snapshot of it (snapshot.ts) and leaves the directory as it is.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { HandoffError, InputError, InternalError } from '../common/errors.js';
import { rawCode } from '../common/retry.js';
import type { Redactor } from '../common/redact.js';
import { MIGRATIONS } from './migrations.js';
import { createRunsRepo, type RunsRepo } from './runs.js';
import { createStepsRepo, type StepsRepo } from './steps.js';
import { createLeasesRepo, type LeasesRepo } from './leases.js';
import { createRequestsRepo, type RequestsRepo } from './requests.js';
import { createRecordsRepo, type RecordsRepo } from './records.js';
import { canWriteStore, snapshotStore } from './snapshot.js';

export const STATE_FILE = 'state.db';

export interface StoreOptions {
  stateDir: string;
  /** Create the directory and database when missing (only commands that write pass true). */
  create: boolean;
  /**
   * The caller only reads (status, explain, report, the dashboard): a store this process cannot
   * write (a read-only copy or mount) is then read from a private snapshot, in which any write
   * fails (`query_only`). Without it, such a store cannot be opened.
   */
  readOnly?: boolean;
  redactor: Redactor;
  /** How long a writer waits for another process's transaction; default 10 s. */
  busyTimeoutMs?: number;
  now?: () => Date;
}

/** Shared by the repositories: the database, the clock and the redactor. */
export interface StoreCore {
  db: Database.Database;
  now(): Date;
  /** Redacts a text before it is stored. */
  clean(text: string): string;
  /** JSON text of a value, redacted. */
  json(value: unknown): string;
}

/** Who may write for a run: the lease holder at this epoch. */
export interface Fence {
  runId: string;
  holder: string;
  epoch: number;
}

export interface Store {
  readonly path: string;
  readonly runs: RunsRepo;
  readonly steps: StepsRepo;
  readonly leases: LeasesRepo;
  readonly requests: RequestsRepo;
  readonly records: RecordsRepo;
  /**
   * Runs `fn` in one IMMEDIATE transaction after checking that `fence` still holds the run's lease
   * (same holder, same epoch). Throws `lease.lost` otherwise and writes nothing.
   */
  fenced<T>(fence: Fence, fn: () => T): T;
  /** Runs `fn` in one IMMEDIATE transaction. */
  transaction<T>(fn: () => T): T;
  close(): void;
}

export function storePath(stateDir: string): string {
  return path.join(stateDir, STATE_FILE);
}

export function openStore(options: StoreOptions): Store | null {
  const file = storePath(options.stateDir);
  if (!fs.existsSync(file)) {
    if (!options.create) return null;
    try {
      fs.mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
      // SQLite gives the -wal and -shm files the database file's mode: create it 0600 first.
      fs.closeSync(fs.openSync(file, 'a', 0o600));
    } catch (error) {
      throw new InputError(
        `cannot create the state store ${file}${rawCode(error) === null ? '' : ` (${rawCode(error)})`}: choose a state directory this process can write (--state-dir or HANDOFF_STATE_DIR)`,
        { cause: error },
      );
    }
  }
  const writable = canWriteStore(file);
  if (options.readOnly !== true && !writable) {
    // Before SQLite touches anything: a command that writes is refused whole, the directory unchanged.
    throw new InputError(
      `the state store ${file} cannot be written by this process (a read-only directory or file): this command records what it does there, so run it where the state directory is writable; status, explain, report --out, audit verify and run --dry-run only read it and work here`,
    );
  }
  const snapshot = options.readOnly === true && !writable ? snapshotStore(file) : null;
  let db: Database.Database;
  try {
    db = new Database(snapshot?.file ?? file, { timeout: options.busyTimeoutMs ?? 10_000 });
  } catch (error) {
    snapshot?.dispose();
    throw new InternalError(`cannot open the state store ${file}`, { cause: error });
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('foreign_keys = ON');
    migrate(db, file);
    if (snapshot) db.pragma('query_only = ON');
  } catch (error) {
    db.close();
    snapshot?.dispose();
    if (error instanceof HandoffError) throw error;
    throw new InternalError(`cannot prepare the state store ${file}`, { cause: error });
  }
  const { redactor } = options;
  const core: StoreCore = {
    db,
    now: options.now ?? (() => new Date()),
    clean: (text) => redactor.redact(text),
    json: (value) => JSON.stringify(redactor.redactValue(value) ?? null),
  };
  const leases = createLeasesRepo(core);
  const transaction = <T>(fn: () => T): T => db.transaction(fn).immediate();
  return {
    path: file,
    runs: createRunsRepo(core),
    steps: createStepsRepo(core),
    leases,
    requests: createRequestsRepo(core),
    records: createRecordsRepo(core),
    transaction,
    fenced: (fence, fn) =>
      transaction(() => {
        leases.check(fence);
        return fn();
      }),
    close: () => {
      if (db.open) db.close();
      snapshot?.dispose();
    },
  };
}

function migrate(db: Database.Database, file: string): void {
  const current = (): number => Number(db.pragma('user_version', { simple: true }));
  const check = (version: number): void => {
    if (version > MIGRATIONS.length) {
      throw new HandoffError(
        'state.conflict',
        `the state store ${file} has schema version ${version}, newer than this handoff knows (${MIGRATIONS.length}); upgrade handoff`,
      );
    }
  };
  // At the latest schema (every open but the first of a new handoff): no write lock is taken. A
  // reader (`status`, the dashboard's every request) must not hold up a running engine's commits.
  const found = current();
  check(found);
  if (found >= MIGRATIONS.length) return;
  for (;;) {
    // Another process may be migrating the same file: read the version again under the write lock.
    const done = db
      .transaction((): boolean => {
        const version = current();
        check(version);
        if (version >= MIGRATIONS.length) return true;
        db.exec(MIGRATIONS[version] as string);
        db.pragma(`user_version = ${version + 1}`);
        return false;
      })
      .immediate();
    if (done) return;
  }
}
