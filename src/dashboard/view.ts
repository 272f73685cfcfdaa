/**
 * Everything the dashboard page draws for one run, as one JSON document: the run's status (what
 * `handoff status RUN -o json` gives), the report's model (the same series, gates and rollbacks the
 * HTML report draws), copy and verification progress per table, approvals waiting with the command
 * that gives them, throttle pauses, router holds and the tail of the audit trail. Read-only; every
 * text passes the redactor and the URL-password scrubber.
 */
import type { StoredRecord } from '../audit/format.js';
import type { EngineEnv } from '../engine/run-session.js';
import { inspectRun, type RunDetail } from '../engine/status.js';
import { buildReportModel } from '../report/model.js';
import type { ReportModel } from '../report/model-types.js';
import { registerUrlPasswords, scrubUrlCredentials } from '../report/scrub.js';
import { tableProgress, type TableProgress } from './progress.js';
import { readTrailFrom, trailFile } from './trail-follow.js';

export interface ApprovalWaiting {
  stage: string;
  role: string;
  since: string;
  command: string;
}

export interface ThrottlePause {
  at: string;
  work: string;
  reason: string;
  message: string;
  /** Filled when the matching resume is recorded. */
  pausedMs: number | null;
}

export interface HoldPoint {
  at: string;
  released: number;
  pauseMs: number | null;
  reason: string;
}

export interface AuditLine {
  seq: number;
  time: string;
  actor: string;
  action: string;
  subject: string;
}

export interface RunView {
  status: RunDetail;
  report: Omit<ReportModel, 'audit' | 'moved' | 'risks'>;
  progress: TableProgress[];
  approvalsWaiting: ApprovalWaiting[];
  throttle: ThrottlePause[];
  holds: HoldPoint[];
  auditTail: AuditLine[];
  /** The highest audit seq this view includes (the page's SSE picks up after it). */
  lastSeq: number;
}

export const AUDIT_TAIL = 40;

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function throttleOf(records: StoredRecord[]): ThrottlePause[] {
  const pauses: ThrottlePause[] = [];
  for (const r of records) {
    if (r.action === 'throttle-paused') {
      pauses.push({
        at: r.time,
        work: str(r.details.work),
        reason: str(r.details.reason),
        message: str(r.details.message),
        pausedMs: null,
      });
    } else if (r.action === 'throttle-resumed') {
      const open = pauses.findLast((p) => p.work === str(r.details.work) && p.pausedMs === null);
      if (open) open.pausedMs = typeof r.details.pausedMs === 'number' ? r.details.pausedMs : null;
    }
  }
  return pauses;
}

/** The router's releases; where the router's own events are not in the run's trail, the cutover's measurement. */
function holdsOf(records: StoredRecord[]): HoldPoint[] {
  const released = records
    .filter((r) => r.action === 'router-released')
    .map((r) => ({
      at: r.time,
      released: typeof r.details.released === 'number' ? r.details.released : 0,
      pauseMs: typeof r.details.pauseMs === 'number' ? r.details.pauseMs : null,
      reason: str(r.details.reason),
    }));
  if (released.length > 0) return released;
  return records
    .filter((r) => r.action === 'cutover-measured')
    .map((r) => ({
      at: r.time,
      released: typeof r.details.heldRequests === 'number' ? r.details.heldRequests : 0,
      pauseMs: typeof r.details.writePauseMs === 'number' ? r.details.writePauseMs : null,
      reason: 'cutover',
    }));
}

export function buildRunView(env: EngineEnv, runId: string): RunView {
  const { detail, approvalWait } = inspectRun(env, runId);
  const {
    audit: _audit,
    moved: _moved,
    risks: _risks,
    ...report
  } = buildReportModel({
    stateDir: env.stateDir,
    runId,
    redactor: env.redactor,
  });
  const records = readTrailFrom(trailFile(env.stateDir), 0, runId).records;
  const approvalsWaiting: ApprovalWaiting[] = [];
  const active = detail.state === 'running' || detail.state === 'paused';
  if (approvalWait && active) {
    for (const role of approvalWait.roles) {
      const given = detail.approvals.some((a) => a.stage === approvalWait.stage && a.role === role);
      if (!given) {
        approvalsWaiting.push({
          stage: approvalWait.stage,
          role,
          since: approvalWait.at,
          command: `handoff approve ${runId} --stage ${approvalWait.stage} --as NAME --role ${role} --state-dir ${env.stateDir}`,
        });
      }
    }
  }
  const view: RunView = {
    status: detail,
    report,
    progress: tableProgress(records),
    approvalsWaiting,
    throttle: throttleOf(records),
    holds: holdsOf(records),
    auditTail: records.slice(-AUDIT_TAIL).map((r) => ({
      seq: r.seq,
      time: r.time,
      actor: r.actor,
      action: r.action,
      subject: r.subject,
    })),
    lastSeq: records.at(-1)?.seq ?? 0,
  };
  registerUrlPasswords(view, env.redactor);
  return JSON.parse(scrubUrlCredentials(JSON.stringify(env.redactor.redactValue(view)))) as RunView;
}
