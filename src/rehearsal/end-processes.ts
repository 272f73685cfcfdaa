/**
 * Ends, at once, every process in a rehearsal's registry other than the PostgreSQL servers: the
 * executor, and what the executor started (the target's service outlives a `handoff run --until`
 * by design, and is recorded with the executor as its owner, so a registry's `stopAll`, which ends
 * only its own process's children, would leave it running). The servers are left to `stopAll`,
 * which stops them cleanly. Returns how many processes it signalled.
 */
import { isAlive, type ProcessRegistry } from '../common/children.js';

export function endExecutorAndServices(registry: ProcessRegistry): number {
  let ended = 0;
  for (const record of registry.records()) {
    if (record.name.startsWith('postgres-') || !isAlive(record.pid)) continue;
    try {
      process.kill(record.pid, 'SIGCONT'); // a SIGSTOPped one (a process fault) must not wait
      process.kill(record.pid, 'SIGKILL');
      ended++;
    } catch {
      /* gone meanwhile */
    }
    registry.untrack(record.pid);
  }
  return ended;
}
