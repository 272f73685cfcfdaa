/** The events the analysis emits: every measurement of a check, every change of a gate's decision. */
import type { CheckResult } from './check-result.js';

declare module '../common/events.js' {
  interface EventPayloads {
    /** One measurement of a check, with the state its state machine is in after it (gate.ts). */
    'check-measured': CheckResult;
    /**
     * A gate's decision: an analysis gate's (advance, hold, rollback, escalate; its checks are
     * CheckResults) when it changes, or a stage gate's (Pass, Fail, ...) from the executor, whose
     * checks are the stage's own records.
     */
    'gate-decided': {
      gate: string;
      outcome: string;
      reason: string;
      checks: Array<CheckResult | Record<string, unknown>>;
      /** Every reason (analysis/gate-decision.ts); `reason` is the first. */
      reasons?: string[];
    };
  }
}

export {};
