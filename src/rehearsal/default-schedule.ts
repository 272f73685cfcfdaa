/**
 * The faults `handoff demo --rehearse` injects (docs/rehearsal.md, "The default schedule"): at least
 * one of each kind, across the stages. The DDL is one the pipeline is expected to survive: an index
 * on the source (logical replication carries rows, not DDL; an index changes no row, so apply and
 * verification go on). A column added on the source only would stop the target's apply (the
 * subscriber lacks the column): a real finding, which `spec.rehearsal` can ask for with `sql`.
 * The target's 503s in the shift are frequent enough (half the target's answers) for the shift gate to
 * fail: the reads go back on the source and the run holds (the rehearsal's plan has
 * `rollback.shiftGate: hold`), then the rehearsal resumes it once the fault has cleared.
 * Killing the target's PostgreSQL in bake makes the bake gate fail: the run fails back to the source
 * (the whole run rolled back, the target's writes drained back by reverse replication first). An
 * undo that cannot reach the dead server stops the rollback; the rehearsal resumes it once the
 * server is up again.
 * The reduced schedule (`--rehearse-reduced`, run in `npm test`) keeps three of them.
 */
import { rehearsalFault, type RehearsalFault } from '../plan/schema.js';

const FULL: unknown[] = [
  {
    name: 'replication-latency',
    kind: 'network',
    path: 'replication',
    toxic: { type: 'latency', attributes: { latency: 150, jitter: 50 } },
    at: { stage: 'replicate' },
  },
  {
    name: 'replication-partition',
    kind: 'network',
    path: 'replication',
    at: { stage: 'replicate', after: '1s' },
    for: '2s',
  },
  {
    name: 'ddl-on-source',
    kind: 'ddl',
    site: 'source',
    sql: 'create index if not exists rehearsal_orders_created on public.orders (created_at)',
    at: { stage: 'replicate', after: '500ms' },
  },
  {
    name: 'executor-kill-verify',
    kind: 'process',
    target: 'executor',
    signal: 'SIGKILL',
    at: { stage: 'verify', after: '100ms' },
  },
  {
    name: 'router-latency-shift',
    kind: 'network',
    path: 'router-to-target',
    toxic: { type: 'latency', attributes: { latency: 100 } },
    at: { stage: 'shift' },
    for: '3s',
  },
  {
    name: 'target-stop-shift',
    kind: 'process',
    target: 'service-target',
    signal: 'SIGSTOP',
    at: { stage: 'shift', after: '1s' },
    for: '2s',
  },
  {
    name: 'target-503-shift',
    kind: 'http',
    site: 'target',
    errorRate: 0.5,
    at: { stage: 'shift', after: '4s' },
    for: '6s',
  },
  { name: 'long-transaction-cutover', kind: 'long-transaction', site: 'source', at: { stage: 'cutover' } },
  {
    name: 'executor-kill-cutover',
    kind: 'process',
    target: 'executor',
    signal: 'SIGKILL',
    at: { stage: 'cutover', after: '50ms' },
  },
  { name: 'password-change-bake', kind: 'password-change', at: { stage: 'bake' }, for: '2s' },
  {
    // After the password change's window (its clearing and 2 s of quiet clients), so neither counts
    // the other's failed requests; down 3 s, then started again on its data directory (crash recovery).
    name: 'target-postgres-kill-bake',
    kind: 'process',
    target: 'postgres-target',
    signal: 'SIGKILL',
    at: { stage: 'bake', after: '4500ms' },
    for: '3s',
  },
];

const REDUCED = new Set(['replication-latency', 'executor-kill-verify', 'long-transaction-cutover']);

export function defaultSchedule(options: { reduced?: boolean } = {}): RehearsalFault[] {
  const faults = FULL.map((fault) => rehearsalFault.parse(fault));
  return options.reduced ? faults.filter((fault) => REDUCED.has(fault.name)) : faults;
}
