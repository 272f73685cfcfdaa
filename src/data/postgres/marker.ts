/**
 * Heartbeat markers: a row written on the publisher and awaited on the subscriber. When the
 * subscriber shows the marker, it has applied every change committed before it, whatever LSN
 * arithmetic says (other databases' WAL moves LSNs, so lag by LSN alone overstates and misleads).
 */
import type pg from 'pg';
import { TimeoutError } from '../../common/errors.js';
import { sleep } from '../../common/net.js';
import type { ObjectNames } from './names.js';

export type Direction = 'forward' | 'reverse';

/**
 * Writes the next marker for a direction on the publisher; returns its sequence number. Markers are
 * inserted, never updated: an UPDATE of a row the subscriber lacks would be skipped silently, while
 * an INSERT always arrives.
 */
export async function writeMarker(client: pg.Client, names: ObjectNames, direction: Direction): Promise<number> {
  const r = await client.query<{ seq: string }>(
    `insert into ${names.marker} (direction, seq)
       select $1, coalesce(max(seq), 0) + 1 from ${names.marker} where direction = $1
     returning seq`,
    [direction],
  );
  return Number(r.rows[0]?.seq ?? 0);
}

export async function markerSeen(client: pg.Client, names: ObjectNames, direction: Direction): Promise<number> {
  const r = await client.query<{ seq: string | null }>(
    `select max(seq) as seq from ${names.marker} where direction = $1`,
    [direction],
  );
  return Number(r.rows[0]?.seq ?? 0);
}

export interface AwaitMarkerOptions {
  timeoutMs: number;
  pollMs: number;
  signal?: AbortSignal;
  /** Named in the timeout message (for example `target`). */
  where: string;
}

/**
 * The wait before the next look for a marker: 1 ms, then twice the last, up to `pollMs`. A marker
 * usually arrives within milliseconds, and under the cutover's hold every millisecond of waiting is
 * write pause: a fixed 50 ms poll added up to 50 ms to the pause whenever the first look came too
 * early. Long waits still poll every `pollMs` (a handful more looks in all).
 */
export function markerPollDelay(attempt: number, pollMs: number): number {
  return Math.max(1, Math.min(pollMs, 2 ** Math.min(attempt, 30)));
}

/** Waits until the subscriber shows marker `seq` (or a later one); returns the wait in ms. */
export async function awaitMarker(
  client: pg.Client,
  names: ObjectNames,
  direction: Direction,
  seq: number,
  options: AwaitMarkerOptions,
): Promise<number> {
  const started = Date.now();
  for (let attempt = 0; ; attempt++) {
    const seen = await markerSeen(client, names, direction);
    if (seen >= seq) return Date.now() - started;
    if (Date.now() - started > options.timeoutMs) {
      throw new TimeoutError(
        `the ${where(options)} did not show ${direction} heartbeat marker ${seq} within ${options.timeoutMs} ms (it shows ${seen}); replication is behind or stopped`,
      );
    }
    await sleep(markerPollDelay(attempt, options.pollMs), options.signal);
  }
}

function where(options: AwaitMarkerOptions): string {
  return options.where;
}
