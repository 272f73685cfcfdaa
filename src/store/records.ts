import type { StoreCore } from './store.js';

export interface GateDecisionRecord {
  id: number;
  runId: string;
  stage: string;
  outcome: string;
  reason: string;
  details: unknown;
  epoch: number;
  decidedAt: string;
}

export interface AuditHead {
  seq: number;
  hash: string;
}

/** Gate decisions and the audit trail's head (which `handoff audit verify` reads to detect truncation). */
export interface RecordsRepo {
  addGateDecision(decision: Omit<GateDecisionRecord, 'id' | 'decidedAt'>): void;
  gateDecisions(runId: string): GateDecisionRecord[];
  setAuditHead(head: AuditHead): void;
  auditHead(): AuditHead | undefined;
}

interface GateRow {
  id: number;
  run_id: string;
  stage: string;
  outcome: string;
  reason: string;
  details: string;
  epoch: number;
  decided_at: string;
}

export function createRecordsRepo(core: StoreCore): RecordsRepo {
  const { db } = core;
  const insertGate = db.prepare(
    `INSERT INTO gate_decisions (run_id, stage, outcome, reason, details, epoch, decided_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  const gatesOf = db.prepare<[string], GateRow>('SELECT * FROM gate_decisions WHERE run_id = ? ORDER BY id');
  const putHead = db.prepare(
    `INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?)
     ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash`,
  );
  const head = db.prepare<[], AuditHead>('SELECT seq, hash FROM audit_head WHERE id = 1');
  return {
    addGateDecision(decision) {
      insertGate.run(
        decision.runId,
        decision.stage,
        decision.outcome,
        core.clean(decision.reason),
        core.json(decision.details),
        decision.epoch,
        core.now().toISOString(),
      );
    },
    gateDecisions: (runId) =>
      gatesOf.all(runId).map((row) => ({
        id: row.id,
        runId: row.run_id,
        stage: row.stage,
        outcome: row.outcome,
        reason: row.reason,
        details: JSON.parse(row.details) as unknown,
        epoch: row.epoch,
        decidedAt: row.decided_at,
      })),
    setAuditHead(value) {
      // Every audit append moves the head: its commit does not wait for the disk (the record itself
      // already did). It is in the store's write-ahead log at once, so a crash of this process loses
      // nothing, and on disk with the store's next commit; a power loss before that can lose the
      // latest heads, never a record (see docs/audit.md). Inside a transaction, that commit decides.
      if (db.inTransaction) {
        putHead.run(value.seq, value.hash);
        return;
      }
      const level = db.pragma('synchronous', { simple: true }) as number;
      db.pragma('synchronous = NORMAL');
      try {
        putHead.run(value.seq, value.hash);
      } finally {
        db.pragma(`synchronous = ${level}`);
      }
    },
    auditHead: () => head.get(),
  };
}
