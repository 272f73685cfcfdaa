/**
 * The read invariants over the history: `stale` (a read of an acknowledged write, sent after the
 * acknowledgement plus the read lag the plan allows, that did not see it) and read-your-writes (a
 * client's read of its own acknowledged write, sent after the acknowledgement, that did not see it:
 * the router sends a client's reads to the writer after its write, so no lag is allowed).
 */
import type { HistoryOp } from '../history.js';
import type { WriteOutcome } from './writes.js';

export interface ReadFindings {
  /** Reads of acknowledged writes that were judged (completed `ok`). */
  judged: number;
  stale: number;
  readYourWritesViolations: number;
  /** The first few violations, for the report. */
  examples: Array<{ process: string; requestId: string; at: number; kind: 'stale' | 'read-your-writes' }>;
}

const EXAMPLES = 20;

export function checkReads(
  history: readonly HistoryOp[],
  writes: ReadonlyMap<string, WriteOutcome>,
  options: { maxReadLagMs?: number } = {},
): ReadFindings {
  const lag = options.maxReadLagMs ?? 0;
  const invoked = new Map<number, HistoryOp>();
  const findings: ReadFindings = { judged: 0, stale: 0, readYourWritesViolations: 0, examples: [] };
  for (const op of history) {
    if (op.f !== 'read-order') continue;
    if (op.type === 'invoke') {
      invoked.set(op.op, op);
      continue;
    }
    const invoke = invoked.get(op.op);
    invoked.delete(op.op);
    if (!invoke || op.type !== 'ok') continue;
    const requestId = String(invoke.value.requestId ?? '');
    const write = writes.get(requestId);
    if (!write || write.okAt === null || invoke.time < write.okAt) continue;
    findings.judged++;
    if (op.value.found === true) continue;
    const own = write.process === invoke.process;
    if (own) findings.readYourWritesViolations++;
    if (invoke.time >= write.okAt + lag) findings.stale++;
    if (findings.examples.length < EXAMPLES)
      findings.examples.push({
        process: invoke.process,
        requestId,
        at: invoke.time,
        kind: own ? 'read-your-writes' : 'stale',
      });
  }
  return findings;
}
