/**
 * The report of one run as data: what the HTML and Markdown renderers draw, and what a program may
 * read (`buildReportModel`). Times are ISO 8601 strings; durations milliseconds; rates fractions.
 */
import type { ReportRehearsal } from './rehearsal-section.js';
import type { ReportShadow } from './shadow-section.js';
import type { Severity } from '../common/findings.js';
import type { VerifiedTable } from './events.js';

export interface ReportRun {
  id: string;
  plan: string;
  planHash: string;
  planFile: string;
  state: string;
  /** The stage the run is at or stopped at. */
  stage: string | null;
  reason: string | null;
  error: string | null;
  startedAt: string;
  finishedAt: string | null;
  durationMs: number | null;
}

export interface ReportSite {
  name: 'source' | 'target';
  /** `kubernetes eks-prod/orders` or `local`. */
  platform: string;
  endpoint: string | null;
  databases: string[];
}

export interface ReportMoved {
  source: ReportSite;
  target: ReportSite;
  databases: Array<{ database: string; tables: string[] }>;
  /** Local processes by name, or the Kubernetes selector and namespaces, in words. */
  workloads: string[];
  /** `builtin 0.0.0.0:8080`, `gateway-api orders`; null without a traffic section. */
  router: string | null;
  /** Set when the stored plan text could not be read again (the rest of the report still stands). */
  planProblem: string | null;
}

export interface ReportStage {
  name: string;
  /** done, failed, skipped, undone, running; a stage that failed and was undone is `failed` with `undoneAt` set. */
  state: string;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  /** When an undo of the stage finished (rollback, failback), if it was undone. */
  undoneAt: string | null;
  reason: string | null;
}

export interface WeightPoint {
  at: string;
  reads: Record<string, number>;
  writes: Record<string, number>;
  reason: string;
}

export interface TrafficPoint {
  at: string;
  site: string;
  cls: 'reads' | 'writes';
  requests: number;
  errors: number;
  errorRate: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  windowMs: number;
}

export interface LagPoint {
  at: string;
  database: string;
  lagMs: number;
}

export interface ReportCutover {
  at: string;
  /** The router's figure (first held request to release); null when nothing was held. */
  writePauseMs: number | null;
  heldRequests: number;
  failedRequests: number;
  fenceMs: number | null;
}

export interface ReportVerification {
  at: string;
  database: string;
  identical: boolean;
  rowsCompared: number;
  elapsedMs: number;
  tables: VerifiedTable[];
}

export interface ReportCheck {
  check: string;
  metric: string | null;
  outcome: string;
  value: number | null;
  sourceValue: number | null;
  ratio: number | null;
  threshold: string | null;
  samples: number | null;
  reason: string;
}

export interface ReportGate {
  at: string;
  stage: string;
  outcome: string;
  reason: string;
  reasons: string[];
  checks: ReportCheck[];
}

export interface ReportApproval {
  stage: string;
  by: string;
  role: string;
  at: string;
}

export interface ReportRollback {
  stage: string;
  reason: string;
  startedAt: string;
  doneAt: string | null;
  /** Stages undone, in order. */
  undone: string[];
}

export interface ReportRisk {
  severity: Severity;
  subject: string;
  message: string;
  remediation: string;
  /** Where it comes from: `preflight postgres:orders`, `verification`, `run`, `clean-up`, `audit`. */
  origin: string;
}

export interface ReportCleanup {
  at: string;
  stage: string;
  what: string[];
  leftBehind: string[];
}

export interface ReportAudit {
  valid: boolean;
  /** Records in the whole trail (every run in this state directory). */
  records: number;
  /** Records of this run. */
  runRecords: number;
  reason: string | null;
  head: { seq: number; hash: string };
  /** The last signed checkpoint that covers this run's last record, else the last one. */
  checkpoint: { seq: number; headHash: string; time: string; reason: string } | null;
  publicKeyFingerprint: string | null;
  /** Whether the run's plan pins the signing key (`spec.audit.publicKey`) and the trail was verified against it. */
  keyPinned: boolean;
  /** `key not pinned: valid means internally consistent` when no key is pinned; null when one is. */
  keyNote: string | null;
  /** This run's last record, to tie the report to the trail. */
  lastRunRecord: { seq: number; hash: string } | null;
  /** Records of this run whose details the report could not read. */
  unreadable: Array<{ seq: number; action: string; problem: string }>;
}

export interface ReportTotals {
  requests: number;
  failedRequests: number;
  bySite: Record<string, { requests: number; errors: number }>;
  /** What the service's clients counted (a `client-traffic` event), when the run has it. */
  clients: {
    offered: number;
    sent: number;
    notSent: number;
    failed: number;
    routerErrors: number | null;
    notes: string[];
    /** The longest write in flight during the cutover's hold, at the clients; null: not measured or nothing held. */
    writePauseMs: number | null;
  } | null;
}

export interface ReportModel {
  generatedAt: string;
  run: ReportRun;
  moved: ReportMoved;
  stages: ReportStage[];
  weights: WeightPoint[];
  traffic: TrafficPoint[];
  totals: ReportTotals;
  lag: LagPoint[];
  cutover: ReportCutover | null;
  verification: ReportVerification[];
  /** The shadow stage's verdicts (absent or empty: no shadow stage). */
  shadow?: ReportShadow[];
  /** The state directory's rehearsal of this run (absent: not rehearsed). */
  rehearsal?: ReportRehearsal;
  gates: ReportGate[];
  approvals: ReportApproval[];
  rollbacks: ReportRollback[];
  risks: ReportRisk[];
  cleanup: ReportCleanup[];
  audit: ReportAudit;
}
