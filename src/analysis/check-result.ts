/**
 * The one shape of a check's result: what the check measured last and what its state machine
 * (check-state.ts) says about it. The gate's decision lists these (gate-decision.ts), the
 * `check-measured` event is one of them with the gate's name (gate.ts), and readers of recorded
 * results (`handoff status`, `handoff explain`, the report) parse them with `recordedCheckSchema`,
 * the lenient twin of the same shape (it also reads older records and stages' own gate records).
 */
import { z } from 'zod';
import type { CheckConfig } from './check-config.js';
import { CHECK_VERDICTS, type CheckState } from './check-state.js';
import { CHECK_OUTCOMES } from './outcome.js';

/** The limits a measurement was judged against. */
export const thresholdsSchema = z.object({
  max: z.number().optional(),
  min: z.number().optional(),
  /** Ratio target/source above which the check is Inconclusive. */
  warn: z.number().optional(),
  /** Ratio target/source above which the check Fails. */
  fail: z.number().optional(),
  minSamples: z.number(),
});
export type Thresholds = z.infer<typeof thresholdsSchema>;

/** How the last outcome counted, after the check's onNoData / onError policy. */
export const COUNTED_AS = ['pass', 'fail', 'hold'] as const;
export type CountedAs = (typeof COUNTED_AS)[number];

export const checkResultSchema = z.object({
  /** The gate the check belongs to, for example `shift-25`. */
  gate: z.string(),
  check: z.string(),
  metric: z.string(),
  /** Pass, Fail, Inconclusive, Error, NoData; null when not measured yet. */
  outcome: z.enum(CHECK_OUTCOMES).nullable(),
  /** What the check asks of its gate: waiting, ready, holding, escalated, failed. */
  verdict: z.enum(CHECK_VERDICTS),
  value: z.number().nullable(),
  sourceValue: z.number().nullable(),
  ratio: z.number().nullable(),
  samples: z.number(),
  sourceSamples: z.number().nullable(),
  pValue: z.number().optional(),
  /** The window the values cover, in milliseconds. */
  windowMs: z.number().optional(),
  threshold: thresholdsSchema.nullable(),
  /** Fails counted in this step (cumulative), as the state machine counts them. */
  failures: z.number(),
  /** Passes in a row, as the state machine counts them. */
  consecutivePasses: z.number(),
  countedAs: z.enum(COUNTED_AS).nullable(),
  dryRun: z.boolean(),
  critical: z.boolean(),
  /** Why the verdict, in words, with the last measurement's own reason. */
  reason: z.string(),
});
export type CheckResult = z.infer<typeof checkResultSchema>;

/** The result of a check as its state machine has it now. */
export function checkResult(gate: string, config: CheckConfig, state: CheckState): CheckResult {
  const last = state.last;
  return {
    gate,
    check: config.name,
    metric: config.metric,
    outcome: last?.outcome ?? null,
    verdict: state.verdict,
    value: last?.value ?? null,
    sourceValue: last?.sourceValue ?? null,
    ratio: last?.ratio ?? null,
    samples: last?.samples ?? 0,
    sourceSamples: last?.sourceSamples ?? null,
    ...(last?.pValue !== undefined ? { pValue: last.pValue } : {}),
    ...(last?.windowMs !== undefined ? { windowMs: last.windowMs } : {}),
    threshold: last?.threshold ?? null,
    failures: state.failures,
    consecutivePasses: state.consecutivePasses,
    countedAs: state.lastCountedAs,
    dryRun: config.dryRun,
    critical: config.critical,
    reason: state.reason,
  };
}

const num = z.number().nullable().optional().catch(null);
const text = z.string().nullable().optional().catch(null);
const flag = z.boolean().optional().catch(undefined);
const limit = z.number().optional().catch(undefined);

/** A recorded threshold: a number is a maximum (stages' own records); fields of another type are left out. */
const recordedThreshold = z
  .preprocess(
    (value) => (typeof value === 'number' ? { max: value } : value),
    z.looseObject({ max: limit, min: limit, warn: limit, fail: limit, minSamples: limit }),
  )
  .nullable()
  .optional()
  .catch(null);

/**
 * The fields of a recorded check result, each optional and read as absent when of another type:
 * the same keys as CheckResult (the compiler checks that), plus `name`, which stages' own gate
 * records use for `check`.
 */
const recordedFields = {
  gate: text,
  check: z.string().optional().catch(undefined),
  metric: text,
  outcome: text,
  verdict: text,
  value: num,
  sourceValue: num,
  ratio: num,
  samples: num,
  sourceSamples: num,
  pValue: z.number().optional().catch(undefined),
  windowMs: z.number().optional().catch(undefined),
  threshold: recordedThreshold,
  failures: num,
  consecutivePasses: num,
  countedAs: text,
  dryRun: flag,
  critical: flag,
  reason: z.string().optional().catch(undefined),
} satisfies Record<keyof CheckResult, z.ZodType>;

/** Reads a recorded check result (a `check-measured` event, a check in a `gate-decided` event or a stored decision). */
export const recordedCheckSchema = z
  .looseObject({ ...recordedFields, name: z.string().optional().catch(undefined) })
  .refine((c) => (c.check ?? c.name) !== undefined, { message: 'the record names no check' })
  .transform((c) => ({
    gate: c.gate ?? null,
    check: (c.check ?? c.name) as string,
    metric: c.metric ?? null,
    outcome: c.outcome ?? null,
    verdict: c.verdict ?? null,
    value: c.value ?? null,
    sourceValue: c.sourceValue ?? null,
    ratio: c.ratio ?? null,
    samples: c.samples ?? null,
    sourceSamples: c.sourceSamples ?? null,
    ...(c.pValue !== undefined ? { pValue: c.pValue } : {}),
    ...(c.windowMs !== undefined ? { windowMs: c.windowMs } : {}),
    threshold: c.threshold ?? null,
    failures: c.failures ?? null,
    consecutivePasses: c.consecutivePasses ?? null,
    countedAs: c.countedAs ?? null,
    dryRun: c.dryRun ?? false,
    critical: c.critical ?? false,
    reason: c.reason ?? '',
  }));
/** A recorded check result: CheckResult's fields, null where the record did not say. */
export type RecordedCheck = z.output<typeof recordedCheckSchema>;
