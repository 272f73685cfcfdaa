/**
 * The bound on a stage's steps and gate: `spec.stages[].timeout` in the plan. When it passes, the
 * step's signal is aborted and the step counts as failed with a TimeoutError (so the run rolls back
 * or pauses). Without a timeout the engine adds no bound of its own: each adapter bounds its waits.
 */
import { parseDuration } from '../common/duration.js';
import { TimeoutError } from '../common/errors.js';
import type { Migration, StageName } from '../plan/schema.js';

export function stageTimeoutMs(plan: Migration, stage: StageName): number | null {
  const timeout = plan.spec.stages.find((item) => item.name === stage)?.timeout;
  return timeout ? parseDuration(timeout) : null;
}

/**
 * Runs `fn` with a signal that aborts on `signal` or when `ms` passes; rejects with TimeoutError then.
 * `boundMs` is the bound the message names (the stage's timeout, when `ms` is what is left of it).
 */
export async function withBound<T>(
  signal: AbortSignal,
  ms: number | null,
  what: string,
  fn: (signal: AbortSignal) => Promise<T>,
  boundMs: number | null = ms,
): Promise<T> {
  if (ms === null) return fn(signal);
  const timer = new AbortController();
  const error = new TimeoutError(`${what} took longer than its bound of ${boundMs ?? ms} ms (spec.stages[].timeout)`);
  let handle: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    handle = setTimeout(() => {
      timer.abort(error);
      reject(error);
    }, ms);
  });
  try {
    return await Promise.race([fn(AbortSignal.any([signal, timer.signal])), expired]);
  } finally {
    clearTimeout(handle);
  }
}
