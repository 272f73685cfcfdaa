/**
 * Smooth weighted round robin (the scheme nginx uses for upstream weights), over fractional
 * weights: every pick adds each eligible site's weight to its credit, takes the site with the most
 * credit and charges it the total. Over any run of N picks each site receives its share to within
 * one request, so a 0.005 weight gets exactly one request in 200, spread evenly rather than in
 * bursts, and no random number can make a small canary starve or flood.
 */
import type { Weights } from '../routes.js';

export interface Picker {
  /**
   * Picks a site among those with weight > 0 for which `eligible` is true (all when left out).
   * Returns null when no site qualifies.
   */
  pick(eligible?: (site: string) => boolean): string | null;
  /** Replaces the weights and forgets accumulated credit. */
  setWeights(weights: Weights): void;
}

export function createPicker(initial: Weights): Picker {
  let sites: string[] = [];
  let weights: number[] = [];
  let credit: number[] = [];
  let lastMask = -1;

  const setWeights = (next: Weights): void => {
    sites = Object.keys(next).filter((site) => (next[site] ?? 0) > 0);
    weights = sites.map((site) => next[site] ?? 0);
    credit = sites.map(() => 0);
    lastMask = -1;
  };
  setWeights(initial);

  return {
    setWeights,
    pick(eligible) {
      if (sites.length === 1) {
        const only = sites[0] as string;
        return eligible === undefined || eligible(only) ? only : null;
      }
      let mask = 0;
      let total = 0;
      let best = -1;
      for (let i = 0; i < sites.length; i++) {
        if (eligible !== undefined && !eligible(sites[i] as string)) continue;
        mask |= 1 << i;
      }
      if (mask === 0) return null;
      // A change in the eligible set starts the credit afresh, so a site that was excluded for a
      // while does not receive a burst of catch-up requests.
      if (mask !== lastMask) {
        credit = credit.map(() => 0);
        lastMask = mask;
      }
      for (let i = 0; i < sites.length; i++) {
        if ((mask & (1 << i)) === 0) continue;
        const weight = weights[i] as number;
        credit[i] = (credit[i] as number) + weight;
        total += weight;
        if (best < 0 || (credit[i] as number) > (credit[best] as number)) best = i;
      }
      credit[best] = (credit[best] as number) - total;
      return sites[best] as string;
    },
  };
}
