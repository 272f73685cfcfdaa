/**
 * Routers driven through cluster objects write integer weights (an HTTPRoute's backendRef weight,
 * Route 53's record weight), while handoff's routes are fractions. This maps one to the other
 * exactly: a fraction that is not a whole number of 1/scale is refused, never rounded away
 * (rounding 0.0004 to 0 would tell the gates the target takes traffic it never gets).
 */
import { InputError } from '../../common/errors.js';
import type { Weights } from '../routes.js';

/** Integer weight per site. */
export type IntegerWeights = Record<string, number>;

/** Float noise tolerated when a fraction is multiplied by the scale (0.07 * 1000 = 70.00000000000001). */
const EPSILON = 1e-6;

/**
 * Maps full weights (every site, summing to 1) to integers summing to exactly `scale`. Throws
 * InputError naming the class and site when a weight is not a whole number of 1/scale.
 */
export function toIntegerWeights(cls: string, weights: Weights, scale: number, driver: string): IntegerWeights {
  const result: IntegerWeights = {};
  const problems: string[] = [];
  for (const [site, weight] of Object.entries(weights)) {
    const scaled = weight * scale;
    const whole = Math.round(scaled);
    if (Math.abs(scaled - whole) > EPSILON) {
      problems.push(
        `${cls}.${site}: weight ${weight} is not a whole number of 1/${scale}; the ${driver} driver writes integer weights out of ${scale}, so use multiples of ${1 / scale} (${100 / scale} %)`,
      );
    }
    result[site] = whole;
  }
  if (problems.length > 0) throw new InputError(problems.join('; '));
  const sum = Object.values(result).reduce((a, b) => a + b, 0);
  if (sum !== scale) {
    // Only float noise at the edges can get here (the weights sum to 1 within 1e-9): the largest absorbs it.
    const largest = Object.entries(result).sort((a, b) => b[1] - a[1])[0];
    if (largest === undefined) throw new InputError(`${cls}: no weights to write`);
    result[largest[0]] = largest[1] + (scale - sum);
  }
  return result;
}

/** Integer weights read back from a cluster object as fractions; all zero when nothing has weight. */
export function fromIntegerWeights(weights: IntegerWeights): Weights {
  const sum = Object.values(weights).reduce((a, b) => a + b, 0);
  const result: Weights = {};
  for (const [site, weight] of Object.entries(weights)) result[site] = sum === 0 ? 0 : weight / sum;
  return result;
}

export function sameIntegerWeights(a: IntegerWeights, b: IntegerWeights): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) if ((a[key] ?? 0) !== (b[key] ?? 0)) return false;
  return true;
}
