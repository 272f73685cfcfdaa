/**
 * How the engine drives shadow reads on a router that can mirror (`capabilities.mirroring`): the
 * built-in router in this process (`builtin/builtin-router.ts`) or over its admin API
 * (`client/http-router.ts`). `start` begins a fresh count (calling it again restarts it, so a
 * resumed stage simply starts over); `stop` is safe to call when nothing runs.
 */
import { z } from 'zod';
import type { ShadowLedgerReport } from './ledger.js';
import type { ShadowSettingsInput } from './settings.js';

export interface ShadowStatus extends ShadowLedgerReport {
  active: boolean;
  /** ISO time the current (or last) shadow started; null if none ever did. */
  since: string | null;
  /** ISO time up to which the target is known to have applied the source's changes. */
  watermark: string | null;
  /** Stale differences waiting for the watermark. */
  pendingStale: number;
  inFlight: number;
}

export interface ShadowControl {
  start(settings: ShadowSettingsInput): Promise<ShadowStatus>;
  /** The target has applied every change the source committed up to `appliedThroughMs` (epoch ms). */
  watermark(appliedThroughMs: number): Promise<ShadowStatus>;
  /** Counts, summaries and the evidence with sequence numbers above `after`. */
  status(after?: number): Promise<ShadowStatus>;
  /** Stops copying, waits (bounded) for copies in flight and stale re-reads, and reports. */
  stop(): Promise<ShadowStatus>;
}

const count = z.number().int().min(0);

/** The admin API's answer, validated by the HTTP client. */
export const shadowStatusSchema = z.object({
  active: z.boolean(),
  since: z.string().nullable(),
  watermark: z.string().nullable(),
  pendingStale: count,
  inFlight: count,
  counters: z.object({
    matched: count,
    mirrored: count,
    compared: count,
    same: count,
    differences: count,
    noise: count,
    stale: count,
    rereads: count,
    noiseSamples: count,
    noiseDiffering: count,
    dropped: z.object({ concurrency: count, bytes: count, body: count, error: count }),
  }),
  diffRate: z.number().nullable(),
  endpoints: z.array(
    z.object({
      endpoint: z.string(),
      compared: count,
      differences: count,
      noise: count,
      stale: count,
      paths: z.record(z.string(), count),
    }),
  ),
  noisy: z.record(z.string(), z.array(z.string())),
  evidence: z.array(
    z.object({
      seq: count,
      at: z.string(),
      method: z.string(),
      path: z.string(),
      endpoint: z.string(),
      sourceStatus: z.number().int(),
      targetStatus: z.number().int(),
      paths: z.array(z.string()),
      source: z.string(),
      target: z.string(),
      reread: z.boolean(),
    }),
  ),
  nextSeq: count,
});
