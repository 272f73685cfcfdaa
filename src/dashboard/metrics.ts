/**
 * `GET /metrics` on the dashboard's listener: every run of the state directory in Prometheus text
 * (version 0.0.4), from the store (state, stage) and the audit trail (weights, lag, verification,
 * gate decisions, the cutover's write pause). A pure renderer over those inputs; the router's own
 * `/metrics` is separate and unchanged.
 */
import type { StoredRecord } from '../audit/format.js';

export interface MetricsRun {
  id: string;
  migration: string;
  state: string;
  stage: string | null;
}

export interface Family {
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  samples: Array<{ labels: Record<string, string>; value: number }>;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** Families as Prometheus text (also the rehearsal's, rehearsal-metrics.ts). */
export function renderFamilies(families: Family[]): string {
  const lines: string[] = [];
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) {
      const labels = Object.entries(sample.labels)
        .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
        .join(',');
      lines.push(`${family.name}{${labels}} ${formatValue(sample.value)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function weightsOf(details: Record<string, unknown>): Record<string, Record<string, number>> | null {
  const out: Record<string, Record<string, number>> = {};
  for (const cls of ['reads', 'writes']) {
    const value = details[cls];
    if (typeof value !== 'object' || value === null) return null;
    out[cls] = Object.fromEntries(Object.entries(value).filter((e): e is [string, number] => typeof e[1] === 'number'));
  }
  return out;
}

/** The metrics text for `runs`, with `records` every audit record of the state directory (any order of runs). */
export function renderMetrics(runs: MetricsRun[], records: StoredRecord[]): string {
  const info: Family = {
    name: 'handoff_run_info',
    help: 'A run of this state directory, labelled with its migration, state and current stage.',
    type: 'gauge',
    samples: [],
  };
  const weight: Family = {
    name: 'handoff_traffic_weight',
    help: 'The share of a request class the router sends to a site (0 to 1), as last set by the run.',
    type: 'gauge',
    samples: [],
  };
  const lag: Family = {
    name: 'handoff_replication_lag_seconds',
    help: 'How far the target database was behind its source at the last heartbeat measurement.',
    type: 'gauge',
    samples: [],
  };
  const verified: Family = {
    name: 'handoff_verify_rows_total',
    help: "Rows compared by the run's verifications of a database (every pass counted).",
    type: 'counter',
    samples: [],
  };
  const decisions: Family = {
    name: 'handoff_gate_decisions_total',
    help: 'Gate decisions the run recorded, by gate and decision.',
    type: 'counter',
    samples: [],
  };
  const pause: Family = {
    name: 'handoff_cutover_write_pause_seconds',
    help: "The cutover's write pause as the router measured it (first held request to release).",
    type: 'gauge',
    samples: [],
  };
  const byRun = new Map<string, StoredRecord[]>();
  for (const record of records) {
    if (record.runId === null) continue;
    const list = byRun.get(record.runId);
    if (list) list.push(record);
    else byRun.set(record.runId, [record]);
  }
  for (const run of runs) {
    info.samples.push({
      labels: { run: run.id, migration: run.migration, state: run.state, stage: run.stage ?? '' },
      value: 1,
    });
    const own = byRun.get(run.id) ?? [];
    let lastWeights: Record<string, Record<string, number>> | null = null;
    const lagByDb = new Map<string, number>();
    const rowsByDb = new Map<string, number>();
    const decided = new Map<string, number>();
    let pauseMs: number | null | undefined;
    for (const r of own) {
      const d = r.details;
      if (r.action === 'traffic-weights') lastWeights = weightsOf(d) ?? lastWeights;
      else if (r.action === 'replication-lag' && typeof d.database === 'string' && typeof d.lagMs === 'number')
        lagByDb.set(d.database, d.lagMs / 1000);
      else if (
        r.action === 'verification-result' &&
        typeof d.database === 'string' &&
        typeof d.rowsCompared === 'number'
      )
        rowsByDb.set(d.database, (rowsByDb.get(d.database) ?? 0) + d.rowsCompared);
      else if (r.action === 'gate-decided' && typeof d.gate === 'string' && typeof d.outcome === 'string') {
        const key = JSON.stringify([d.gate, d.outcome]);
        decided.set(key, (decided.get(key) ?? 0) + 1);
      } else if (r.action === 'cutover-measured') pauseMs = typeof d.writePauseMs === 'number' ? d.writePauseMs : null;
    }
    for (const [cls, sites] of Object.entries(lastWeights ?? {}))
      for (const [site, value] of Object.entries(sites))
        weight.samples.push({ labels: { run: run.id, class: cls, site }, value });
    for (const [database, seconds] of lagByDb) lag.samples.push({ labels: { run: run.id, database }, value: seconds });
    for (const [database, rows] of rowsByDb) verified.samples.push({ labels: { run: run.id, database }, value: rows });
    for (const [key, count] of decided) {
      const [gate, decision] = JSON.parse(key) as [string, string];
      decisions.samples.push({ labels: { run: run.id, gate, decision }, value: count });
    }
    if (typeof pauseMs === 'number') pause.samples.push({ labels: { run: run.id }, value: pauseMs / 1000 });
  }
  return renderFamilies([info, weight, lag, verified, decisions, pause]);
}
