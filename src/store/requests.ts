import type { StoreCore } from './store.js';

export type ControlAction = 'pause' | 'rollback' | 'abort';

/** A request from another process (`handoff pause|rollback|abort`) to the run's executor. */
export interface ControlRequest {
  id: number;
  runId: string;
  action: ControlAction;
  requestedBy: string;
  requestedAt: string;
  handledAt: string | null;
}

export interface ApprovalRecord {
  id: number;
  runId: string;
  stage: string;
  by: string;
  role: string;
  approvedAt: string;
  /** Whether the audit trail has a record of it yet (only the lease holder appends to the trail). */
  audited: boolean;
}

export interface RequestsRepo {
  request(runId: string, action: ControlAction, by: string): ControlRequest;
  /** Requests not handled yet, oldest first. */
  pending(runId: string): ControlRequest[];
  markHandled(id: number): void;
  approve(runId: string, stage: string, by: string, role: string): ApprovalRecord;
  approvals(runId: string): ApprovalRecord[];
  markAudited(approvalId: number): void;
}

interface ControlRow {
  id: number;
  run_id: string;
  action: ControlAction;
  requested_by: string;
  requested_at: string;
  handled_at: string | null;
}

interface ApprovalRow {
  id: number;
  run_id: string;
  stage: string;
  by_name: string;
  role: string;
  approved_at: string;
  audited: number;
}

const toControl = (row: ControlRow): ControlRequest => ({
  id: row.id,
  runId: row.run_id,
  action: row.action,
  requestedBy: row.requested_by,
  requestedAt: row.requested_at,
  handledAt: row.handled_at,
});

const toApproval = (row: ApprovalRow): ApprovalRecord => ({
  id: row.id,
  runId: row.run_id,
  stage: row.stage,
  by: row.by_name,
  role: row.role,
  approvedAt: row.approved_at,
  audited: row.audited === 1,
});

export function createRequestsRepo(core: StoreCore): RequestsRepo {
  const { db } = core;
  const insertControl = db.prepare(
    'INSERT INTO control_requests (run_id, action, requested_by, requested_at) VALUES (?, ?, ?, ?)',
  );
  const controlById = db.prepare<[number | bigint], ControlRow>('SELECT * FROM control_requests WHERE id = ?');
  const pending = db.prepare<[string], ControlRow>(
    'SELECT * FROM control_requests WHERE run_id = ? AND handled_at IS NULL ORDER BY id',
  );
  const handled = db.prepare('UPDATE control_requests SET handled_at = ? WHERE id = ?');
  const insertApproval = db.prepare(
    'INSERT INTO approvals (run_id, stage, by_name, role, approved_at) VALUES (?, ?, ?, ?, ?)',
  );
  const approvalById = db.prepare<[number | bigint], ApprovalRow>('SELECT * FROM approvals WHERE id = ?');
  const approvalsOf = db.prepare<[string], ApprovalRow>('SELECT * FROM approvals WHERE run_id = ? ORDER BY id');
  const audited = db.prepare('UPDATE approvals SET audited = 1 WHERE id = ?');
  return {
    request(runId, action, by) {
      const info = insertControl.run(runId, action, core.clean(by), core.now().toISOString());
      return toControl(controlById.get(info.lastInsertRowid) as ControlRow);
    },
    pending: (runId) => pending.all(runId).map(toControl),
    markHandled(id) {
      handled.run(core.now().toISOString(), id);
    },
    approve(runId, stage, by, role) {
      const info = insertApproval.run(runId, stage, core.clean(by), core.clean(role), core.now().toISOString());
      return toApproval(approvalById.get(info.lastInsertRowid) as ApprovalRow);
    },
    approvals: (runId) => approvalsOf.all(runId).map(toApproval),
    markAudited(id) {
      audited.run(id);
    },
  };
}
