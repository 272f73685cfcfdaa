/**
 * What the clients counted against what the router counted, and where they differ: requests not
 * sent never reached the router; a request the client gave up on (time-out, connection error) may
 * never have been answered or counted as an error there; a router retry (after a connect failure)
 * is two requests at the router and one at the client; the router counts from its start, so
 * requests in flight when the load stopped are in neither or only one.
 */
import type { RouterStatsInput } from '../analysis/providers/router-stats.js';
import type { LoadStats } from './load/generator.js';

export interface Reconciliation {
  clients: { offered: number; sent: number; notSent: number; failed: number; failedWithoutAnswer: number };
  /** Null fields when the router's statistics could not be read. */
  router: { requests: number | null; errors: number | null; retries: number | null };
  /** failed at the clients against errors at the router, as a fraction of the clients' figure (0 when both are 0). */
  failedDifference: number | null;
  notes: string[];
}

/** The clients' own stops (`LoadStats.stops`) in words; null when there were none. */
function stopsNote(stats: LoadStats): string | null {
  if (stats.stops.count === 0) return null;
  const { count, longestMs, totalMs, notSent } = stats.stops;
  return (
    `the clients themselves were stopped ${count === 1 ? 'once' : `${count} times`} (longest ${longestMs} ms, ${totalMs} ms in all; the machine or the load's thread did not run): ` +
    `the requests due meanwhile were offered at once afterwards, and ${notSent} of them could not be sent`
  );
}

export function reconcile(stats: LoadStats, router: (RouterStatsInput & { retries?: number }) | null): Reconciliation {
  const withoutAnswer = stats.failedWithoutAnswer;
  const clients = {
    offered: stats.offered,
    sent: stats.total,
    notSent: stats.notSent,
    failed: stats.failed,
    failedWithoutAnswer: withoutAnswer,
  };
  if (router === null) {
    return {
      clients,
      router: { requests: null, errors: null, retries: null },
      failedDifference: null,
      notes: ["the router's statistics could not be read", ...[stopsNote(stats)].filter((n) => n !== null)],
    };
  }
  let requests = 0;
  let errors = 0;
  for (const site of Object.values(router.sites)) {
    requests += site.reads.requests + site.writes.requests;
    errors += site.reads.errors + site.writes.errors;
  }
  const retries = router.retries ?? 0;
  const notes: string[] = [];
  if (stats.notSent > 0)
    notes.push(
      `${stats.notSent} requests were not sent by the clients (too many in flight) and never reached the router`,
    );
  const stopped = stopsNote(stats);
  if (stopped) notes.push(stopped);
  const delta = requests - retries - stats.total;
  if (delta === 0) notes.push('the router counted every request the clients sent');
  else if (delta < 0)
    notes.push(
      `the router counted ${-delta} fewer requests than the clients sent (given up on by the client before the router forwarded them, or answered by the router itself)`,
    );
  else notes.push(`the router counted ${delta} more requests than the clients sent (other callers)`);
  if (retries > 0)
    notes.push(
      `${retries} requests were retried by the router on the other site after a connect failure (two at the router, one at the client)`,
    );
  if (stats.failed !== errors) {
    const why =
      withoutAnswer > 0 ? `; ${withoutAnswer} of the client failures had no answer (time-out or connection error)` : '';
    notes.push(`clients saw ${stats.failed} failures, the router ${errors} errors${why}`);
  } else notes.push(`clients and router agree on ${errors} failed requests`);
  const failedDifference =
    stats.failed === 0 && errors === 0 ? 0 : Math.abs(stats.failed - errors) / Math.max(stats.failed, errors);
  return {
    clients,
    router: { requests, errors, retries },
    failedDifference: Math.round(failedDifference * 10_000) / 10_000,
    notes,
  };
}
