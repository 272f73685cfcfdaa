/**
 * The state store's schema, as numbered migrations. `PRAGMA user_version` holds the number of the
 * last migration applied; opening a store applies the missing ones in one transaction each. Add a
 * migration at the end; never edit one that has shipped.
 */

export const MIGRATIONS: readonly string[] = [
  // 1: runs, stages, steps, leases, step state, gate decisions, approvals, control, audit head.
  `
  CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    plan_name TEXT NOT NULL,
    plan_hash TEXT NOT NULL,
    plan_file TEXT NOT NULL,
    plan_text TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN
      ('running', 'paused', 'rolling-back', 'succeeded', 'rolled-back', 'aborted', 'failed')),
    stage TEXT,
    reason TEXT,
    error TEXT,
    until_stage TEXT,
    started_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finished_at TEXT
  );
  CREATE INDEX runs_by_plan ON runs (plan_name, state);

  CREATE TABLE stages (
    run_id TEXT NOT NULL REFERENCES runs (id),
    stage TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('running', 'done', 'skipped', 'failed', 'undone')),
    reason TEXT,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    PRIMARY KEY (run_id, stage)
  );

  CREATE TABLE steps (
    run_id TEXT NOT NULL REFERENCES runs (id),
    stage TEXT NOT NULL,
    step TEXT NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    seq INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('intent', 'done', 'failed', 'undone')),
    attempts INTEGER NOT NULL DEFAULT 1,
    result TEXT,
    error TEXT,
    intent_at TEXT NOT NULL,
    done_at TEXT,
    undone_at TEXT,
    PRIMARY KEY (run_id, stage, step)
  );

  CREATE TABLE leases (
    run_id TEXT PRIMARY KEY REFERENCES runs (id),
    holder TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    acquired_at TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  );

  CREATE TABLE step_state (
    run_id TEXT NOT NULL REFERENCES runs (id),
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
  );

  CREATE TABLE gate_decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs (id),
    stage TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL,
    details TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    decided_at TEXT NOT NULL
  );

  CREATE TABLE approvals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs (id),
    stage TEXT NOT NULL,
    by_name TEXT NOT NULL,
    role TEXT NOT NULL,
    approved_at TEXT NOT NULL,
    audited INTEGER NOT NULL DEFAULT 0
  );

  CREATE TABLE control_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES runs (id),
    action TEXT NOT NULL CHECK (action IN ('pause', 'rollback', 'abort')),
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    handled_at TEXT
  );

  CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
  );
  `,
];
