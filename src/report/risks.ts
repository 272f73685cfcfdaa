/**
 * Residual risks: what a reader of the report must still act on or accept. Preflight warnings the
 * run went on with, data that did not verify identical, what clean-up left behind, sessions a
 * credentials rotation had to end (the service had not moved off the old role in time), steps that
 * recorded an intent and never an end, a run that did not finish, and an audit trail that does
 * not verify. Blockers first.
 */
import { sortFindings } from '../common/findings.js';
import type { StepRecord } from '../store/steps.js';
import { credentialsRetiredSchema, preflightFindingsSchema } from './events.js';
import type { ReportAudit, ReportCleanup, ReportRisk, ReportRun, ReportVerification } from './model-types.js';
import type { RunTrail } from './trail-reader.js';

export interface RiskInputs {
  trail: RunTrail;
  run: ReportRun;
  steps: StepRecord[];
  verification: ReportVerification[];
  cleanup: ReportCleanup[];
  audit: ReportAudit;
}

const FINISHED = new Set(['succeeded', 'rolled-back', 'aborted']);

export function residualRisks(input: RiskInputs): ReportRisk[] {
  const risks: ReportRisk[] = [];
  for (const e of input.trail.pick('preflight-findings', preflightFindingsSchema)) {
    for (const finding of sortFindings(e.data.findings)) {
      if (finding.severity === 'info') continue;
      risks.push({
        severity: finding.severity,
        subject: finding.subject,
        message: `${finding.id}: ${finding.message}`,
        remediation: finding.remediation,
        origin: `preflight ${e.data.component}`,
      });
    }
  }
  // Only the last verification of each database says how its data stands now.
  const latest = new Map<string, ReportVerification>();
  for (const v of input.verification) latest.set(v.database, v);
  for (const v of latest.values()) {
    if (v.identical) continue;
    const differing = v.tables.filter((t) => t.missing + t.extra + t.changed + t.mismatchedChunks > 0);
    risks.push({
      severity: 'blocker',
      subject: v.database,
      message: `the last verification found differences in ${differing.length} ${differing.length === 1 ? 'table' : 'tables'}: ${differing
        .map((t) => `${t.table} (${t.missing} missing, ${t.extra} extra, ${t.changed} changed)`)
        .join(', ')}`,
      remediation: 'run `handoff verify` again once replication has caught up; repair or investigate before finalizing',
      origin: 'verification',
    });
  }
  for (const cleanup of input.cleanup) {
    for (const left of cleanup.leftBehind) {
      risks.push({
        severity: 'warning',
        subject: left,
        message: `${cleanup.stage || 'clean-up'} left this behind`,
        remediation: 'remove it by hand once nothing depends on it',
        origin: 'clean-up',
      });
    }
  }
  for (const e of input.trail.pick('pg-credentials-retired', credentialsRetiredSchema)) {
    const { database, role, terminated } = e.data;
    if (terminated === 0) continue;
    risks.push({
      severity: 'warning',
      subject: `${database}: role ${role}`,
      message: `the credentials rotation ended ${terminated} ${terminated === 1 ? 'session' : 'sessions'} of ${role} still open after retireAfter: the service had not moved to the new role in time, and whatever ran on them failed`,
      remediation:
        'make the service move to new credentials sooner (its pool swap), or give it longer: spec.data[].access.rotation.retireAfter',
      origin: 'credentials rotation',
    });
  }
  if (!FINISHED.has(input.run.state)) {
    risks.push({
      severity: 'warning',
      subject: `run ${input.run.id}`,
      message: `the run is ${input.run.state}${input.run.stage ? ` at stage ${input.run.stage}` : ''}: what it started is still in place`,
      remediation: `\`handoff resume ${input.run.id}\` or \`handoff rollback ${input.run.id}\``,
      origin: 'run',
    });
  }
  for (const step of input.steps) {
    if (step.state !== 'intent' && step.state !== 'failed') continue;
    risks.push({
      severity: 'warning',
      subject: `${step.stage}/${step.step}`,
      message:
        step.state === 'intent'
          ? 'the step recorded its intent but not its end: it may have acted in part'
          : `the step failed and was not undone${step.error ? ` (${step.error})` : ''}`,
      remediation: 'check what the step creates on both sites, or resume the run to replay it',
      origin: 'run',
    });
  }
  if (!input.audit.valid) {
    risks.push({
      severity: 'blocker',
      subject: 'audit trail',
      message: `the audit trail does not verify: ${input.audit.reason ?? 'unknown problem'}`,
      remediation: '`handoff audit verify` names the first bad record; do not rely on this report until it verifies',
      origin: 'audit',
    });
  }
  for (const bad of input.audit.unreadable) {
    risks.push({
      severity: 'info',
      subject: `audit record ${bad.seq}`,
      message: `a ${bad.action} record could not be read for the report (${bad.problem})`,
      remediation: '',
      origin: 'audit',
    });
  }
  const rank = { blocker: 0, warning: 1, info: 2 } as const;
  return risks
    .map((risk, index) => ({ risk, index }))
    .sort((a, b) => rank[a.risk.severity] - rank[b.risk.severity] || a.index - b.index)
    .map((x) => x.risk);
}
