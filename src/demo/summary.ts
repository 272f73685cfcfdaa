/** The summary `handoff demo -o json` prints (issue 6), the same fields in the human output. */
export interface DemoSummary {
  /** Clean run: through finalize with nothing failed, lost or different. With injected errors: rolled back by its gates during the shift, nothing lost. */
  ok: boolean;
  runId: string;
  /** The demo's run directory (engine state, plan, logs, report). */
  stateDir: string;
  report: string;
  /** `perSecond`: requests sent per second over the load's whole life (added to the issue's fields). */
  requests: { total: number; failed: number; perSecond: number };
  writes: { acknowledged: number; lost: number; duplicated: number };
  readYourWritesViolations: number;
  invariants: { bankTotalPreserved: boolean };
  /** First held write to its release; null when no cutover happened. */
  cutover: { writePauseMs: number | null };
  verification: { rowsCompared: number; identical: boolean };
  audit: { records: number; valid: boolean };
  rollback: { happened: boolean; stage: string | null; reason: string | null; detectionMs: number | null };
}

/** The summary in words, for the terminal. */
export function formatSummary(s: DemoSummary): string {
  const lines = [
    `demo ${s.ok ? 'ok' : 'NOT ok'}: run ${s.runId}`,
    `  requests      ${s.requests.total} sent (${s.requests.perSecond} per second), ${s.requests.failed} failed`,
    `  writes        ${s.writes.acknowledged} acknowledged, ${s.writes.lost} lost, ${s.writes.duplicated} duplicated`,
    `  read-your-writes violations ${s.readYourWritesViolations}; bank total ${s.invariants.bankTotalPreserved ? 'preserved' : 'CHANGED'}`,
    `  cutover       ${s.cutover.writePauseMs === null ? 'did not happen' : `writes paused ${s.cutover.writePauseMs} ms`}`,
    `  verification  ${s.verification.rowsCompared} rows compared, ${s.verification.identical ? 'identical' : 'NOT identical'}`,
    `  audit trail   ${s.audit.records} records, ${s.audit.valid ? 'valid' : 'INVALID'}`,
  ];
  if (s.rollback.happened) {
    lines.push(`  rollback      in stage ${s.rollback.stage ?? '?'}: ${s.rollback.reason ?? ''}`);
    lines.push(`                detected ${s.rollback.detectionMs === null ? '(not measured)' : `${s.rollback.detectionMs} ms`} after the target's first 5xx`);
  }
  lines.push(`  report        ${s.report}`, `  state         ${s.stateDir}`);
  return `${lines.join('\n')}\n`;
}
