/**
 * What the router is told when the shadow stage starts: which reads to copy to the target, how to
 * compare the answers, and the bounds of the work. One schema for the in-process router and the
 * admin API (`PUT /v1/shadow`), so both refuse the same input with the same words.
 */
import { z } from 'zod';
import { parsePathPattern } from './json-diff.js';

/** Methods that may be mirrored: a write is never copied (replication already feeds the target). */
export const MIRRORABLE_METHODS = ['GET', 'HEAD', 'OPTIONS'] as const;

export const shadowSettingsSchema = z.strictObject({
  /** Fraction of the matched reads copied to the target (0 < share <= 1). */
  share: z.number().gt(0).max(1),
  methods: z
    .array(z.enum(MIRRORABLE_METHODS, { error: 'only GET, HEAD and OPTIONS can be mirrored (a write never is)' }))
    .min(1)
    .default(['GET', 'HEAD']),
  /** Path prefixes a mirrored read must start with (empty: any path). */
  paths: z.array(z.string().startsWith('/')).default([]),
  /** Path prefixes never mirrored. */
  exclude: z.array(z.string().startsWith('/')).default([]),
  /** Response headers compared (lower-case). */
  headers: z
    .array(z.string().regex(/^[a-z0-9-]+$/, { error: 'header names are lower-case' }))
    .default(['content-type']),
  /** JSON paths (`$.meta.requestId`, `$.items[*].at`) or bare field names left out of the comparison. */
  ignore: z
    .array(z.string().min(1))
    .default([])
    .refine((list) => list.every((p) => !p.startsWith('$') || parsePathPattern(p) !== null), {
      error: 'an ignore path starting with $ must look like $.a.b, $.items[*].c or $["odd key"]',
    }),
  /** Fraction of mirrored reads also read a second time from the source, to measure noise. */
  noiseShare: z.number().min(0).max(1).default(0.1),
  /** Mirrored reads in flight at once; a copy beyond it is dropped and counted. */
  concurrency: z.number().int().min(1).max(10_000).default(64),
  /** Bytes of captured answers held at once; a copy beyond it is dropped and counted. */
  queuedBytes: z
    .number()
    .int()
    .min(1024)
    .max(1024 ** 3)
    .default(8 * 1024 * 1024),
  /** Largest answer compared; a larger one is dropped and counted. */
  bodyBytes: z
    .number()
    .int()
    .min(1)
    .max(64 * 1024 * 1024)
    .default(1024 * 1024),
  /** Bound on each mirrored request. */
  timeoutMs: z.number().int().min(1).max(120_000).default(10_000),
  /**
   * Differences count only once the target is known to have applied the source's changes up to the
   * moment the source answered (`watermark`); until then they are stale and re-read.
   */
  lagAware: z.boolean().default(false),
  /** How long a stale difference waits for the watermark before it stays stale. */
  staleWaitMs: z.number().int().min(0).max(600_000).default(10_000),
  /** Append `-shadow` to the Host of mirrored requests (as Envoy does). */
  hostSuffix: z.boolean().default(false),
  /** Bytes of each body kept in the evidence. */
  evidenceBytes: z.number().int().min(0).max(65_536).default(2048),
});

export type ShadowSettings = z.output<typeof shadowSettingsSchema>;
export type ShadowSettingsInput = z.input<typeof shadowSettingsSchema>;
