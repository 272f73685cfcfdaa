/** Event types the engine adds to the run's event stream (see common/events.ts). */
import type { RunState } from '../store/runs.js';

declare module '../common/events.js' {
  interface EventPayloads {
    'step-undone': { stage: string; step: string; key: string };
    /** One failed attempt of a step (engine/step-retry.ts); `next` says what follows. */
    'step-attempt-failed': {
      stage: string;
      step: string;
      key: string;
      attempt: number;
      maxAttempts: number;
      /** HandoffError code, errno code or SQLSTATE. */
      code: string;
      /** Redacted. */
      error: string;
      /** The wait before the next attempt; null when there is none. */
      delayMs: number | null;
      next: 'retry' | 'not-transient' | 'non-retryable-code' | 'exhausted' | 'stage-timeout';
    };
    'approval-waiting': { stage: string; roles: string[]; timeoutMs: number };
    'control-requested': { action: 'pause' | 'rollback' | 'abort'; by: string; state: RunState };
    'lease-lost': { epoch: number; error: string };
  }
}

export {};
