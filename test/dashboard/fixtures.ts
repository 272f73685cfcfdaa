/**
 * State directories for the dashboard's tests: the report's synthetic runs (a rolled-back one and a
 * succeeded one), plus a run whose table and check are named with HTML, written through the real
 * store and audit trail.
 */
import { createEventBus } from '../../src/common/events.js';
import { createRedactor } from '../../src/common/redact.js';
import { openAuditTrail } from '../../src/audit/trail.js';
import { auditEvents } from '../../src/engine/observers.js';
import { openStore, type Store } from '../../src/store/store.js';
import { PLAN_TEXT, writeSyntheticRuns, type SyntheticRuns } from '../report/synthetic-run.js';
import '../../src/analysis/events.js';
import '../../src/data/postgres/verify/events.js';

export const HTML_TABLE = '<img src=x onerror="document.title=\'pwned\'">';
export const HTML_CHECK = '<b>bold</b><script>document.title="pwned"</script>';
export const HTML_RUN = 'run-html-names';

export function writeDashboardRuns(stateDir: string): SyntheticRuns & { html: string } {
  const runs = writeSyntheticRuns(stateDir);
  const redactor = createRedactor();
  const store = openStore({ stateDir, create: false, redactor }) as Store;
  const trail = openAuditTrail({ stateDir, redactor, onAppend: (head) => store.records.setAuditHead(head) });
  try {
    store.runs.create({
      id: HTML_RUN,
      planName: 'orders-to-gke',
      planHash: 'cd'.repeat(32),
      planFile: '/plans/orders.yaml',
      planText: PLAN_TEXT,
      until: null,
    });
    const bus = createEventBus({ runId: HTML_RUN });
    const stop = auditEvents(bus, trail);
    store.steps.setStage(HTML_RUN, 'verify', 'running');
    store.runs.update(HTML_RUN, { stage: 'verify' });
    bus.emit('stage-started', { stage: 'verify' }, { subject: 'verify' });
    bus.emit(
      'pg-table-verified',
      {
        table: HTML_TABLE,
        identical: true,
        sourceRows: 10,
        targetRows: 10,
        chunks: 1,
        mismatchedChunks: 0,
        missing: 0,
        extra: 0,
        changed: 0,
        method: 'chunked',
        elapsedMs: 20,
      },
      { subject: HTML_TABLE, actor: 'verify' },
    );
    bus.emit(
      'gate-decided',
      {
        gate: 'verify',
        outcome: 'hold',
        reason: `check ${HTML_CHECK} has no data`,
        checks: [
          {
            check: HTML_CHECK,
            metric: 'router.error_rate',
            outcome: 'NoData',
            value: null,
            threshold: { max: 0.01 },
            samples: 0,
            reason: 'no samples',
          },
        ],
      },
      { subject: 'verify', actor: 'analysis' },
    );
    stop();
  } finally {
    trail.close();
    store.close();
  }
  return { ...runs, html: HTML_RUN };
}
