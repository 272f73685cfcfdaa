/**
 * How the report reads the details of events other components define (common/events.ts,
 * traffic/events.ts, data/postgres/...): only the fields it uses, extra fields allowed, so that a
 * component adding a field never makes its records unreadable.
 */
import { z } from 'zod';

export const stageEventSchema = z.object({ stage: z.string() });
export const stageReasonSchema = z.object({ stage: z.string(), reason: z.string() });
export const stageFailedSchema = z.object({ stage: z.string(), error: z.string() });
export const runStartedSchema = z.object({ plan: z.string(), planHash: z.string() });
export const runFinishedSchema = z.object({ state: z.string(), reason: z.string().optional() });
export const approvalRecordedSchema = z.object({ stage: z.string(), by: z.string(), role: z.string() });

export const gateDecidedSchema = z.object({
  gate: z.string(),
  outcome: z.string(),
  reason: z.string(),
  reasons: z.array(z.string()).optional(),
  checks: z.array(z.record(z.string(), z.unknown())),
});

/** traffic/events.ts `router-routes-changed`: used for weights when no `traffic-weights` exists. */
export const routesChangedSchema = z.object({
  after: z.object({ reads: z.record(z.string(), z.number()), writes: z.record(z.string(), z.number()) }),
});

/** data/postgres/verify/events.ts `pg-table-verified`: used when no `verification-result` exists. */
export const tableVerifiedSchema = z.object({
  table: z.string(),
  identical: z.boolean(),
  sourceRows: z.number(),
  targetRows: z.number(),
  mismatchedChunks: z.number(),
  missing: z.number(),
  extra: z.number(),
  changed: z.number(),
  elapsedMs: z.number(),
});
