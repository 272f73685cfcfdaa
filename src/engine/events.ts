/** Event types the engine adds to the run's event stream (see common/events.ts). */
import type { RunState } from '../store/runs.js';

declare module '../common/events.js' {
  interface EventPayloads {
    'step-undone': { stage: string; step: string; key: string };
    'approval-waiting': { stage: string; roles: string[]; timeoutMs: number };
    'control-requested': { action: 'pause' | 'rollback' | 'abort'; by: string; state: RunState };
    'lease-lost': { epoch: number; error: string };
  }
}

export {};
