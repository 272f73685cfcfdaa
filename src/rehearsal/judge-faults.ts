/**
 * Each scheduled fault judged into the FaultRecord of `-o json`: its reaction, recovery time and
 * failed requests from the run's audit trail and the clients' history (judgeFault, fault-outcome.ts).
 * A fault that was never injected keeps `injectedAt: null`, reaction `none`, recoveryMs null, no
 * failed requests, and says why in `detail`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { judgeFault, trailEvents, type TrailEvent } from './fault-outcome.js';
import type { FaultRecord } from './faults/types.js';
import type { HistoryOp } from './history.js';
import type { ScheduledFault } from './schedule.js';

/** The run's trail records (action, time, details) from `<stateDir>/audit/trail.jsonl`; unreadable lines are skipped. */
export function readTrail(stateDir: string): TrailEvent[] {
  const file = path.join(stateDir, 'audit', 'trail.jsonl');
  if (!fs.existsSync(file)) return [];
  const records: Array<{ action: string; time: string; details: Record<string, unknown> }> = [];
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    try {
      const record = JSON.parse(line) as { action?: unknown; time?: unknown; details?: unknown };
      if (typeof record.action === 'string' && typeof record.time === 'string')
        records.push({
          action: record.action,
          time: record.time,
          details: (record.details ?? {}) as Record<string, unknown>,
        });
    } catch {
      /* a torn last line of a killed executor */
    }
  }
  return trailEvents(records);
}

export function judgeFaults(
  scheduled: readonly ScheduledFault[],
  stateDir: string,
  history: readonly HistoryOp[],
): FaultRecord[] {
  const events = readTrail(stateDir);
  return scheduled.map((fault) => {
    const detail = fault.error ? [fault.detail, fault.error].filter(Boolean).join('; ') : fault.detail;
    if (fault.injectedAt === null)
      return { ...fault, injectedAt: null, reaction: 'none', recoveryMs: null, failedRequests: 0, detail };
    const outcome = judgeFault({ injectedAt: fault.injectedAt, clearedAt: fault.clearedAt }, events, history);
    return {
      ...fault,
      injectedAt: fault.injectedAt,
      reaction: outcome.reaction,
      recoveryMs: outcome.recoveryMs,
      failedRequests: outcome.failedRequests,
      detail,
    };
  });
}
