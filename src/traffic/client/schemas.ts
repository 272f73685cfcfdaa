/**
 * The admin API's answers, as zod schemas: the HTTP client validates every response with these
 * rather than trusting the other process.
 */
import { z } from 'zod';

const weights = z.record(z.string(), z.number());
const routes = z.object({ reads: weights, writes: weights });
const requestClass = z.enum(['reads', 'writes']);

const drain = z.object({ drained: z.boolean(), inFlight: z.number(), waitedMs: z.number() });

const releaseRecord = z.object({
  at: z.string(),
  reason: z.enum(['request', 'timeout']),
  released: z.number(),
  pauseMs: z.number().nullable(),
  heldMs: z.number(),
});

const holdState = z.object({
  active: z.boolean(),
  classes: z.array(requestClass),
  queued: z.number(),
  since: z.string().nullable(),
  deadline: z.string().nullable(),
  lastRelease: releaseRecord.nullable(),
});

/** `[bucketUpperMs, count]`, ascending by bucket, only non-empty buckets. */
const latencyBuckets = z
  .array(z.tuple([z.number().nonnegative(), z.number().int().positive()]))
  .refine((pairs) => pairs.every((pair, i) => i === 0 || pair[0] > (pairs[i - 1]?.[0] ?? -1)), {
    message: 'latency buckets must be in ascending order of their upper bound, each once',
  });

const classStats = z.object({
  requests: z.number(),
  errors: z.number(),
  inFlight: z.number(),
  stickyRequests: z.number().optional(),
  p50Ms: z.number().nullable(),
  p99Ms: z.number().nullable(),
  latencyBuckets,
});

const classShares = z.object({
  since: z.string(),
  requests: z.number(),
  shares: weights,
  freeRequests: z.number().optional(),
  freeShares: weights.optional(),
});

export const setRoutesResultSchema = z.object({ routes, changed: z.array(requestClass), drain });
export const holdResultSchema = z.object({ classes: z.array(requestClass), deadline: z.string(), drain });
export const releaseResultSchema = z.object({
  wasActive: z.boolean(),
  released: z.number(),
  pauseMs: z.number().nullable(),
  last: releaseRecord.nullable(),
  drain: drain.optional(),
});
export const lagResultSchema = z.object({ lag: z.record(z.string(), z.number().nullable()) });
export const snapshotSchema = z.object({
  sites: z.array(z.string()),
  routes,
  hold: holdState,
  lag: z.record(z.string(), z.number().nullable()),
  stats: z.object({
    sites: z.record(z.string(), z.object({ reads: classStats, writes: classStats })),
    held: z.number(),
    rejected: z.number(),
    retries: z.number(),
  }),
  observed: z.object({ reads: classShares, writes: classShares }),
});
export const errorBodySchema = z.object({ error: z.object({ code: z.string(), message: z.string() }) });
