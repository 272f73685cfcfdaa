/**
 * The rehearsal's figures in `/metrics` (Prometheus text 0.0.4): whether it passed, each invariant's
 * violations, and per fault whether it was injected, its recovery time (no sample for a fault that
 * never recovered: its `handoff_rehearsal_fault_recovered` is 0) and the requests that failed during
 * it (the last three only for a fault that was injected).
 */
import type { RehearsalResult } from '../rehearsal/faults/types.js';
import { invariantRows } from '../report/rehearsal-result.js';
import { renderFamilies, type Family } from './metrics.js';

export function renderRehearsalMetrics(result: RehearsalResult): string {
  const run: Record<string, string> = result.runId !== undefined ? { run: result.runId } : {};
  const ok: Family = {
    name: 'handoff_rehearsal_ok',
    help: "1 when the state directory's last rehearsal held every invariant, else 0.",
    type: 'gauge',
    samples: [{ labels: run, value: result.ok ? 1 : 0 }],
  };
  const violations: Family = {
    name: 'handoff_rehearsal_invariant_violations',
    help: 'Violations of an invariant in the last rehearsal (a count; 1 for a yes/no invariant that failed, or the objects left behind).',
    type: 'gauge',
    samples: invariantRows(result.invariants).map((r) => {
      const value = result.invariants[r.name];
      const n = typeof value === 'number' ? value : Array.isArray(value) ? value.length : value ? 0 : 1;
      return { labels: { ...run, invariant: r.name }, value: n };
    }),
  };
  const recovery: Family = {
    name: 'handoff_rehearsal_fault_recovery_seconds',
    help: 'From the injection of a fault until the clients and the run were healthy again.',
    type: 'gauge',
    samples: [],
  };
  const recovered: Family = {
    name: 'handoff_rehearsal_fault_recovered',
    help: '1 when the run and its clients recovered from the fault, else 0.',
    type: 'gauge',
    samples: [],
  };
  const failed: Family = {
    name: 'handoff_rehearsal_fault_failed_requests',
    help: 'Client requests that failed (or ended unknown) between the injection of a fault and the recovery.',
    type: 'gauge',
    samples: [],
  };
  const injected: Family = {
    name: 'handoff_rehearsal_fault_injected',
    help: '1 when the fault was injected, 0 when it was not (its moment never came or its injection failed).',
    type: 'gauge',
    samples: [],
  };
  for (const f of result.faults) {
    const labels = { ...run, fault: f.name, kind: f.kind, reaction: f.reaction };
    injected.samples.push({ labels, value: f.injectedAt === null ? 0 : 1 });
    if (f.injectedAt === null) continue;
    if (f.recoveryMs !== null) recovery.samples.push({ labels, value: f.recoveryMs / 1000 });
    recovered.samples.push({ labels, value: f.recoveryMs === null ? 0 : 1 });
    failed.samples.push({ labels, value: f.failedRequests });
  }
  return renderFamilies([ok, violations, injected, recovery, recovered, failed]);
}
