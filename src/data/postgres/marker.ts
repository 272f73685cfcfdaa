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

/** Waits until the subscriber shows marker `seq` (or a later one); returns the wait in ms. */
export async function awaitMarker(
  client: pg.Client,
  names: ObjectNames,
  direction: Direction,
  seq: number,
  options: AwaitMarkerOptions,
): Promise<number> {
  const started = Date.now();
  for (;;) {
    const seen = await markerSeen(client, names, direction);
    if (seen >= seq) return Date.now() - started;
    if (Date.now() - started > options.timeoutMs) {
      throw new TimeoutError(
        `the ${where(options)} did not show ${direction} heartbeat marker ${seq} within ${options.timeoutMs} ms (it shows ${seen}); replication is behind or stopped`,
      );
    }
    await sleep(options.pollMs, options.signal);
  }
}

function where(options: AwaitMarkerOptions): string {
  return options.where;
}
