/** The events the engine emits: runs, stages, steps, approvals, leases (see common/events.ts). */
import type { RunState } from '../store/runs.js';

declare module '../common/events.js' {
  interface EventPayloads {
    'run-started': { plan: string; planHash: string; dryRun: boolean };
    'run-finished': { state: string; reason?: string };
    'run-paused': { reason: string };
    'run-resumed': { by: string };
    'run-aborted': { by: string; reason?: string };
    'stage-started': { stage: string };
    'stage-done': { stage: string };
    'stage-failed': { stage: string; error: string };
    'stage-skipped': { stage: string; reason: string };
    'stage-undo-started': { stage: string; reason: string };
    'stage-undone': { stage: string };
    /** `attempt` from the second attempt of a retried step on (engine/step-retry.ts). */
    'step-intent': { stage: string; step: string; key: string; epoch: number; attempt?: number };
    'step-done': { stage: string; step: string; key: string; result?: unknown; attempts?: number };
    'step-failed': { stage: string; step: string; key: string; error: string; attempts?: number };
    'rollback-started': { stage: string; reason: string };
    'rollback-done': { stage: string };
    'approval-recorded': { stage: string; by: string; role: string };
    'lease-acquired': { epoch: number; holder: string };
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
    /** A call of an approval's webhook (approval-webhook.ts). */
    'approval-webhook': {
      stage: string;
      role: string;
      /** The URL's origin only (scheme, host, port). */
      url: string;
      delivered: boolean;
      /** The HTTP status answered, if any. */
      status: number | null;
      error: string | null;
      elapsedMs: number;
    };
  }
}

/** The reason of the pause `--until <stage>` asks for (executor.ts), which explain and the logs recognise. */
export const untilReason = (stage: string): string => `until ${stage}`;

/** The stage of a pause `--until` asked for; null for any other reason. */
export function untilStage(reason: string | null | undefined): string | null {
  return reason?.startsWith('until ') ? reason.slice('until '.length) : null;
}
