/**
 * The report's inputs as a contract: facts a run's report needs that the stages emit on the run's
 * event bus (so the audit trail records them, one record each, `action` = the event type and
 * `details` = the payload). Stage authors emit exactly these shapes; the report validates every
 * record it reads against the schemas below (a record that does not match is listed in the report
 * as unreadable, never guessed at).
 *
 * Conventions: times are the event's own time (the bus stamps it); durations are milliseconds;
 * rates are fractions (0.01 = 1 %); a statistic with nothing to measure is `null`, never NaN.
 * Site names are the plan's (`source`, `target`). Subjects: the database for `replication-lag` and
 * `verification-result`, the stage that did the work for `cleanup-done` (the report names it so),
 * `router` for `traffic-weights`, `run` or the gate's name for `traffic-sample`, the stage for
 * `cutover-measured`. Emit through the engine's session (which redacts) or a bus the audit trail
 * reads; see docs/report.md for examples.
 */
import { z } from 'zod';
import { findingSchema } from '../common/findings.js';

const weights = z.record(z.string(), z.number());
const ms = z.number().min(0);

/**
 * `traffic-weights`: emitted by the shift, cutover, bake and undo steps each time the engine
 * changes the routes (also the first time it sets them), with the full weights of every site per
 * class after the change. `reason` says why in words: "shift step 2 of 5 (5 %)", "cutover",
 * "rollback: check errors failed".
 */
export const trafficWeightsSchema = z.object({
  reads: weights,
  writes: weights,
  reason: z.string(),
});

/** Statistics of one request class at one site over the sample's window. */
export const classSampleSchema = z.object({
  requests: z.number().int().min(0),
  /** 5xx answers, connect failures and timeouts. */
  errors: z.number().int().min(0),
  /** errors / requests; null when there were no requests. */
  errorRate: z.number().min(0).nullable(),
  p50Ms: ms.nullable(),
  p99Ms: ms.nullable(),
});

/**
 * `traffic-sample`: the router's per-site, per-class statistics over the last `windowMs`,
 * emitted periodically (every analysis interval, or every few seconds) while traffic moves.
 * Windows should not overlap, so that request counts can be added up over the run.
 */
export const trafficSampleSchema = z.object({
  sites: z.record(z.string(), z.object({ reads: classSampleSchema, writes: classSampleSchema })),
  windowMs: ms,
  /** The run's stage the window belongs to (the engine's whole-run samples, subject `run`). */
  stage: z.string().optional(),
});

/** `replication-lag`: how far the target is behind the source for one database (heartbeat marker). */
export const replicationLagSchema = z.object({
  database: z.string(),
  lagMs: ms,
});

/**
 * `cutover-measured`: emitted once by the cutover stage after the buffer is released.
 * `writePauseMs` is the router's own figure: from the first held request's arrival to its release;
 * null when nothing was held (never 0). What clients saw is measured at the clients (the demo's
 * `cutover.writePauseMs`). `fenceMs` is how long the source refused writes (fence to target open),
 * where known.
 */
export const cutoverMeasuredSchema = z.object({
  writePauseMs: ms.nullable(),
  heldRequests: z.number().int().min(0),
  failedRequests: z.number().int().min(0),
  fenceMs: ms.optional(),
});

export const verifiedTableSchema = z.object({
  table: z.string(),
  sourceRows: z.number().int().min(0),
  targetRows: z.number().int().min(0),
  mismatchedChunks: z.number().int().min(0),
  /** Keys on the source and not on the target. */
  missing: z.number().int().min(0),
  /** Keys on the target and not on the source. */
  extra: z.number().int().min(0),
  /** Keys on both with different content. */
  changed: z.number().int().min(0),
});

/**
 * `verification-result`: one per database each time a whole verification finishes (the verify
 * stage, the check at cutover, a failback). `identical` is true only when every table is.
 */
export const verificationResultSchema = z.object({
  database: z.string(),
  identical: z.boolean(),
  rowsCompared: z.number().int().min(0),
  tables: z.array(verifiedTableSchema),
  elapsedMs: ms,
});

/**
 * `cleanup-done`: what finalize or an undo removed, in words ("publication handoff_r1_orders on
 * source", "3 target processes"). `leftBehind` (optional) names what it could not or would not
 * remove; the report lists it under residual risks.
 */
export const cleanupDoneSchema = z.object({
  what: z.array(z.string()),
  leftBehind: z.array(z.string()).optional(),
});

/**
 * `preflight-findings`: the preflight's findings (blockers, warnings, info) for one component
 * (`postgres:orders`, `platform:target`, `router`). The warnings of a run that went on are its
 * residual risks.
 */
export const preflightFindingsSchema = z.object({
  component: z.string(),
  findings: z.array(findingSchema),
});

/**
 * `pg-credentials-retired`: a credentials rotation made its old role NOLOGIN; `terminated` sessions
 * of it were still open after `retireAfter` and were ended (whatever ran on them failed).
 */
export const credentialsRetiredSchema = z.object({
  database: z.string(),
  role: z.string(),
  terminated: z.number().int().min(0),
});

export type TrafficWeightsEvent = z.infer<typeof trafficWeightsSchema>;
export type ClassSample = z.infer<typeof classSampleSchema>;
export type TrafficSampleEvent = z.infer<typeof trafficSampleSchema>;
export type ReplicationLagEvent = z.infer<typeof replicationLagSchema>;
export type CutoverMeasuredEvent = z.infer<typeof cutoverMeasuredSchema>;
export type VerifiedTable = z.infer<typeof verifiedTableSchema>;
/**
 * `client-traffic`: what the clients of the service counted over the run (the demo's load
 * generator emits it once, subject `clients`, when the load has stopped): requests offered, sent,
 * not sent (never reached the router) and failed (5xx, connection failures, time-outs), beside the
 * router's own counts, with the differences in words; and the write pause as the clients felt it
 * (the longest write in flight during the cutover's hold: null when nothing was held, absent when
 * not measured). The report's failed-request figure and write pause are the clients' when the run
 * has them, the router's beside them.
 */
export const clientTrafficSchema = z.object({
  offered: z.number().int().min(0),
  sent: z.number().int().min(0),
  notSent: z.number().int().min(0),
  failed: z.number().int().min(0),
  failedWithoutAnswer: z.number().int().min(0),
  routerRequests: z.number().int().min(0).nullable(),
  routerErrors: z.number().int().min(0).nullable(),
  notes: z.array(z.string()),
  writePauseMs: z.number().min(0).nullable().optional(),
});

export type ClientTrafficEvent = z.infer<typeof clientTrafficSchema>;
export type VerificationResultEvent = z.infer<typeof verificationResultSchema>;
export type CleanupDoneEvent = z.infer<typeof cleanupDoneSchema>;
export type PreflightFindingsEvent = z.infer<typeof preflightFindingsSchema>;

declare module '../common/events.js' {
  interface EventPayloads {
    'traffic-weights': TrafficWeightsEvent;
    'traffic-sample': TrafficSampleEvent;
    'replication-lag': ReplicationLagEvent;
    'cutover-measured': CutoverMeasuredEvent;
    'verification-result': VerificationResultEvent;
    'cleanup-done': CleanupDoneEvent;
    'preflight-findings': PreflightFindingsEvent;
    'client-traffic': ClientTrafficEvent;
  }
}
