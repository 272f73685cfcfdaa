/**
 * Routes: per request class, the share of requests each site receives. Weights are fractions that
 * sum to 1 (tolerance 1e-9), so 0.005 (half a percent) is a valid weight. This file validates
 * weights for every router implementation, so they all refuse the same input with the same words.
 */
import { z } from 'zod';
import { InputError } from '../common/errors.js';

export const REQUEST_CLASSES = ['reads', 'writes'] as const;
export type RequestClass = (typeof REQUEST_CLASSES)[number];

/** Site name to weight. Sites left out have weight 0. */
export type Weights = Record<string, number>;

export interface Routes {
  reads: Weights;
  writes: Weights;
}

/** A change of routes: either class may be left out (it keeps its weights). */
export interface RoutesUpdate {
  reads?: Weights;
  writes?: Weights;
}

export const WEIGHT_SUM_TOLERANCE = 1e-9;

export const SITE_NAME = /^[a-z][a-z0-9-]{0,62}$/;

const weights = z.record(z.string(), z.number({ error: 'must be a number' }));

/** The body of `PUT /v1/routes` (and the adapter's `setRoutes`), before the cross-field checks. */
export const routesUpdateSchema = z.strictObject({
  reads: weights.optional(),
  writes: weights.optional(),
  /** How long to wait for in-flight requests to sites that lost weight, in milliseconds. */
  drainMs: z.number().int().min(0).max(600_000).optional(),
});

/** Formats zod issues as `path: message; path: message`. */
export function describeZodError(error: z.ZodError, prefix = ''): string {
  return error.issues
    .map((issue) => {
      const where = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
      return where ? `${where}: ${issue.message}` : issue.message;
    })
    .join('; ');
}

/**
 * Checks one class's weights against the known sites. Returns the full weights (every site, zeros
 * included) or throws InputError naming the class, the site and what is wrong.
 */
export function checkWeights(cls: RequestClass, given: Weights, sites: readonly string[]): Weights {
  const problems: string[] = [];
  for (const [site, weight] of Object.entries(given)) {
    if (!sites.includes(site)) {
      problems.push(`${cls}.${site}: unknown site; known sites: ${sites.join(', ')}`);
    } else if (!Number.isFinite(weight)) {
      problems.push(`${cls}.${site}: weight must be a finite number`);
    } else if (weight < 0) {
      problems.push(`${cls}.${site}: weight ${weight} is negative; weights are fractions from 0 to 1`);
    } else if (weight > 1) {
      problems.push(`${cls}.${site}: weight ${weight} is above 1; weights are fractions from 0 to 1`);
    }
  }
  if (problems.length > 0) throw new InputError(problems.join('; '));
  const sum = Object.values(given).reduce((a, b) => a + b, 0);
  if (Math.abs(sum - 1) > WEIGHT_SUM_TOLERANCE) {
    const terms = Object.entries(given)
      .map(([site, weight]) => `${site} ${weight}`)
      .join(' + ');
    throw new InputError(
      `${cls}: weights must sum to 1, got ${sum}${terms ? ` (${terms})` : ' (no weights)'}; write fractions such as {"source": 0.95, "target": 0.05}`,
    );
  }
  const full: Weights = {};
  for (const site of sites) full[site] = given[site] ?? 0;
  return full;
}

/**
 * Validates a routes update (already parsed JSON or an adapter argument) against the known sites.
 * Throws InputError with a precise message; returns the complete new routes otherwise.
 */
export function applyRoutesUpdate(
  current: Routes,
  input: unknown,
  sites: readonly string[],
): { routes: Routes; drainMs: number | undefined; changed: RequestClass[] } {
  const parsed = routesUpdateSchema.safeParse(input);
  if (!parsed.success) throw new InputError(describeZodError(parsed.error));
  const { reads, writes, drainMs } = parsed.data;
  if (reads === undefined && writes === undefined) {
    throw new InputError('give "reads", "writes" or both, for example {"reads": {"source": 0.99, "target": 0.01}}');
  }
  const next: Routes = {
    reads: reads === undefined ? { ...current.reads } : checkWeights('reads', reads, sites),
    writes: writes === undefined ? { ...current.writes } : checkWeights('writes', writes, sites),
  };
  const changed = REQUEST_CLASSES.filter((cls) => !sameWeights(current[cls], next[cls]));
  return { routes: next, drainMs, changed };
}

export function sameWeights(a: Weights, b: Weights): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) if ((a[key] ?? 0) !== (b[key] ?? 0)) return false;
  return true;
}

/** All traffic to one site. */
export function allTo(site: string, sites: readonly string[]): Weights {
  const weights: Weights = {};
  for (const name of sites) weights[name] = name === site ? 1 : 0;
  return weights;
}
