/**
 * Progress of one piece of work whose amount may be known (chunks of a table, tables of a copy):
 * the share done, the rate over the last seconds and the time left. Pure. The share never reads
 * 100 % before the work says it is finished: until then it is at most 99 % (Vitess users asked for
 * exactly this, vitess #12196), and the time left is null when the rate is unknown.
 */

/** How far the work was at a time (ms since the epoch). */
export interface ProgressSample {
  at: number;
  done: number;
}

export interface ProgressFigures {
  done: number;
  /** The amount of work, when known. */
  total: number | null;
  /** Whole percent, floored; 100 only when finished; null when the total is unknown. */
  percent: number | null;
  /** Units per second over the rate window; null with fewer than two samples in it. */
  ratePerSecond: number | null;
  /** Time left at that rate; null when the total or the rate is unknown (or the rate is 0). */
  etaMs: number | null;
  finished: boolean;
}

/** Samples older than this (before the newest) do not count for the rate. */
export const RATE_WINDOW_MS = 10_000;
/** Samples kept per piece of work. */
export const MAX_SAMPLES = 32;

/** Adds a sample, keeping at most MAX_SAMPLES and only those within the rate window of the newest. */
export function addSample(samples: readonly ProgressSample[], sample: ProgressSample): ProgressSample[] {
  const kept = samples.filter((s) => s.at <= sample.at && sample.at - s.at <= RATE_WINDOW_MS);
  kept.push(sample);
  return kept.slice(-MAX_SAMPLES);
}

export function progressFigures(
  samples: readonly ProgressSample[],
  total: number | null,
  finished: boolean,
): ProgressFigures {
  const last = samples[samples.length - 1];
  const done = last?.done ?? 0;
  const known = total !== null && total > 0 ? total : null;
  let percent: number | null = null;
  if (finished) percent = 100;
  else if (known !== null) percent = Math.min(99, Math.max(0, Math.floor((done / known) * 100)));
  const first = samples[0];
  let ratePerSecond: number | null = null;
  if (first && last && last.at > first.at)
    ratePerSecond = Math.max(0, (last.done - first.done) / ((last.at - first.at) / 1000));
  let etaMs: number | null = null;
  if (finished) etaMs = 0;
  else if (known !== null && ratePerSecond !== null && ratePerSecond > 0)
    etaMs = Math.round((Math.max(0, known - done) / ratePerSecond) * 1000);
  return { done, total: known, percent, ratePerSecond, etaMs, finished };
}
