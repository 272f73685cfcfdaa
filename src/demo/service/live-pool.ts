/**
 * The demo service's connection pool, replaceable while it serves: when its credentials change, a
 * new pool logs in with them (tried once before it takes any request, so bad credentials never
 * reach a client), new queries go to it, and the old pool drains: its queued and running queries
 * finish on their old connections, then it ends (pg-pool's end() would strand queued requests, so
 * it is called only once nothing waits on the old pool; bounded). The role is not a secret and is
 * what the service reports; the connection string is never logged.
 *
 * Connections are made before they are needed and kept: a pool is warmed to its size (a few logins
 * at a time) before it takes requests, and idle connections are not closed. Otherwise a burst of
 * traffic (the router moving every read to this site, or the first requests after a credentials
 * swap) finds one connection and makes the rest while clients wait: at 1,000 requests/s that was a
 * storm of up to 20 logins at once, each a server process and a SCRAM exchange, and 0.3-0.6 s of
 * p99 for the clients.
 *
 * With `prepare`, each connection of the first pool also runs it before it serves (queued on it
 * ahead of any request; the warm-up waits for it); with `prepareSwapped`, each connection of a
 * swapped pool. The demo uses the first to plan the writes on the target's service, which serves
 * only reads until the cutover: its first writes came as the held writes were released, each of 20
 * connections paying for cold catalog caches at that moment. It uses the second to run its reads
 * and plan its writes on a swapped pool's connections, which otherwise all met every statement
 * cold at once, right after the swap.
 *
 * A swap's warm-up is paced (`swapPacing`): the pool it replaces is serving, so its new connections
 * log in one at a time, each followed by a rest as long as its login and `prepare` took, until a
 * time budget is spent (then the rest come without rests, so a swap never waits on its pacing for
 * long: the old credentials are retired on a deadline). At 1,000 requests/s on two cores, 20 logins
 * two at a time with unready connections gave the clients about three seconds of p50 up to 100-200
 * ms: the logins while it warmed, then 20 cold sessions at once after the swap.
 *
 * A swap readies as many connections as the old pool holds, unless nothing used it in the last
 * seconds (`recentMs`, 2 s): then one. A site that serves nothing (the source's service after the
 * cutover, about 4 s before the rotation) readies one, where its 20 readied connections cost its
 * server about 1.4 s of CPU in the bake at a million orders, on the machine that served the target.
 * A service that serves readies them all: sized to the most in use at once lately (3-6 at 200
 * requests/s), the new pool made the rest on demand, cold, each slowing the requests that made
 * more of them (the bake's p99 573-655 ms against about 80).
 *
 * The whole warm-up is bounded too (`deadlineMs`): past it the new pool takes the traffic with the
 * connections it has and makes the rest when it needs them. The old credentials are retired on a
 * deadline (the plan's `retireAfter`, 10 s in the demo): a warm-up that outlasts it leaves the old
 * pool serving on sessions the rotation ends. On a busy machine (two cores at 1,000 requests/s
 * with a million orders) both services' warm-ups took over 10 s and 515 requests failed.
 */
import pg from 'pg';
import { sleep } from '../../common/net.js';

export interface LivePoolOptions {
  max?: number;
  connectionTimeoutMillis?: number;
  /** `application_name` of every session (the demo counts its sessions by it). */
  applicationName?: string;
  /** How long an old pool may keep queued requests before it is ended anyway (30 s by default). */
  drainMs?: number;
  /** Logins in flight at once while the first pool is warmed (2 by default; a swap logs in one at a time). */
  warmConcurrency?: number;
  /** Run on every new connection of the first pool before anything else (see above; never rejects). */
  prepare?: (client: pg.ClientBase) => Promise<void>;
  /** The same for the connections of a pool that credentials swap to. */
  prepareSwapped?: (client: pg.ClientBase) => Promise<void>;
  /**
   * A swap's warm-up (see above): rest per login as a ratio of its time (1), within `withinMs`
   * (2,500), and no login begun after `deadlineMs` (5,000).
   */
  swapPacing?: WarmPacing;
  /** How far back a swap looks for use of the pool (2 s): with none, it readies one connection. */
  recentMs?: number;
  now?: () => number;
}

/**
 * Rests between a warm-up's logins: `restRatio` × each login's time, until `withinMs` have passed;
 * with `deadlineMs`, no login begins after that long (the pool makes the rest on demand).
 */
export interface WarmPacing {
  restRatio: number;
  withinMs: number;
  deadlineMs?: number;
}

/** What a swap did: `moved` false when the new credentials do not log in (the current pool stays). */
export type SwapResult =
  | { moved: false }
  | { moved: true; /** connections readied before the swap */ readied: number; wanted: number; tookMs: number };

const SWAP_PACING: WarmPacing = { restRatio: 1, withinMs: 2500, deadlineMs: 5000 };

export interface LivePool {
  /** The pool new queries use. */
  current(): pg.Pool;
  /** The role the current pool logs in as. */
  readonly role: string;
  /**
   * Moves to new credentials: resolves `moved` once new queries use them (the old pool draining in
   * the background), not moved when they do not log in (the current pool stays).
   */
  swap(url: string): Promise<SwapResult>;
  /**
   * Opens the current pool's connections up to its size, a few at a time; resolves with the
   * connections it holds. Best effort: a login that fails leaves the pool to connect on demand.
   */
  warm(): Promise<number>;
  /** Ends the current pool and every one still draining. */
  end(): Promise<void>;
}

function roleOf(url: string): string {
  try {
    return decodeURIComponent(new URL(url).username) || '(default)';
  } catch {
    return '(unparsable)';
  }
}

/** A new connection's `prepare`, which a warm-up waits for. */
const prepared = new WeakMap<pg.ClientBase, Promise<void>>();
/**
 * Runs one query on a connection of `pool` once that connection's `prepare` is done. A connection
 * made on demand starts its `prepare` as it connects, before the pool hands it over; a query sent
 * then would wait in the connection's queue behind it, which pg 8 warns is deprecated ("Calling
 * client.query() when the client is already executing a query") and pg 9 removes. A query that fails
 * gives its connection up, as `pool.query` does.
 */
export async function queryReady<R extends pg.QueryResultRow = pg.QueryResultRow>(
  pool: pg.Pool,
  config: pg.QueryConfig,
): Promise<pg.QueryResult<R>> {
  const client = await pool.connect();
  let failure: Error | undefined;
  try {
    await prepared.get(client);
    return await client.query<R>(config);
  } catch (error) {
    failure = error instanceof Error ? error : new Error(String(error));
    throw error;
  } finally {
    client.release(failure);
  }
}

/** Pools being warmed: their check-outs are the warm-up's, not use. */
const warming = new WeakSet<pg.Pool>();

/** The most connections in use at once over the last `windowMs`, kept in one-second buckets. */
export function createUseMeter(windowMs: number, now: () => number = Date.now) {
  const seconds = Math.max(1, Math.ceil(windowMs / 1000));
  const stamps = new Array<number>(seconds).fill(-1);
  const peaks = new Array<number>(seconds).fill(0);
  return {
    record(inUse: number): void {
      const second = Math.floor(now() / 1000);
      const slot = second % seconds;
      if (stamps[slot] !== second) {
        stamps[slot] = second;
        peaks[slot] = 0;
      }
      if (inUse > (peaks[slot] as number)) peaks[slot] = inUse;
    },
    peak(): number {
      const second = Math.floor(now() / 1000);
      let most = 0;
      for (let i = 0; i < seconds; i++)
        if ((stamps[i] as number) > second - seconds) most = Math.max(most, peaks[i] as number);
      return most;
    },
  };
}

export function createLivePool(url: string, options: LivePoolOptions = {}): LivePool {
  const meter = createUseMeter(options.recentMs ?? 2000, options.now);
  const make = (connectionString: string, prepare?: LivePoolOptions['prepare']): pg.Pool => {
    const pool = new pg.Pool({
      connectionString,
      max: options.max ?? 20,
      connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5000,
      // Never close an idle connection: making it again is what costs the clients (see above).
      idleTimeoutMillis: 0,
      ...(options.applicationName ? { application_name: options.applicationName } : {}),
    });
    pool.on('error', () => undefined); // a broken idle connection is replaced on next use
    pool.on('acquire', () => {
      if (!warming.has(pool)) meter.record(pool.totalCount - pool.idleCount);
    });
    if (prepare)
      pool.on('connect', (client) =>
        prepared.set(
          client,
          prepare(client).catch(() => undefined),
        ),
      );
    return pool;
  };
  let pool = make(url, options.prepare);
  let role = roleOf(url);
  const draining = new Set<Promise<void>>();
  let swapping: Promise<unknown> = Promise.resolve();

  async function drain(old: pg.Pool): Promise<void> {
    const deadline = Date.now() + (options.drainMs ?? 30_000);
    while (old.waitingCount > 0 && Date.now() < deadline) await sleep(20);
    await old.end().catch(() => undefined);
  }

  async function swapNow(next: string): Promise<SwapResult> {
    const started = Date.now();
    const candidate = make(next, options.prepareSwapped);
    const used = meter.peak() > 0;
    try {
      // One login (bad credentials fail here), readied (its `prepare` done) before anything else.
      const first = await candidate.connect();
      await prepared.get(first);
      first.release();
    } catch {
      await candidate.end().catch(() => undefined);
      return { moved: false };
    }
    // As many connections as the old pool holds (one if nothing used it lately), before the new
    // one takes a request; one at a time.
    const wanted = used ? Math.max(1, pool.totalCount) : 1;
    const pacing = options.swapPacing ?? SWAP_PACING;
    const deadlineMs = pacing.deadlineMs === undefined ? undefined : pacing.deadlineMs - (Date.now() - started);
    const readied = await warmPool(candidate, wanted, 1, {
      ...pacing,
      ...(deadlineMs === undefined ? {} : { deadlineMs }),
    });
    const old = pool;
    pool = candidate;
    role = roleOf(next);
    const done = drain(old).finally(() => draining.delete(done));
    draining.add(done);
    return { moved: true, readied, wanted, tookMs: Date.now() - started };
  }

  return {
    current: () => pool,
    get role() {
      return role;
    },
    swap(next) {
      const result = swapping.then(() => swapNow(next));
      swapping = result.catch(() => undefined);
      return result;
    },
    warm() {
      const current = pool;
      return warmPool(current, current.options.max, options.warmConcurrency ?? 2);
    },
    async end() {
      await swapping;
      await Promise.all([pool.end().catch(() => undefined), ...draining]);
    },
  };
}

/**
 * Makes `pool` hold `count` connections (at most its size): checks out that many, `concurrency`
 * logins at a time (each batch also waits for its connections' `prepare`), then gives them all
 * back. With `pacing`, each batch is followed by a rest of `restRatio` × its time while less than
 * `withinMs` have passed since the start, and no batch begins `deadlineMs` after the start.
 * Resolves with the connections the pool holds.
 */
export async function warmPool(
  pool: pg.Pool,
  count: number,
  concurrency: number,
  pacing?: WarmPacing,
): Promise<number> {
  const wanted = Math.min(count, pool.options.max ?? 10);
  const held: pg.PoolClient[] = [];
  const start = Date.now();
  warming.add(pool);
  try {
    while (pool.totalCount < wanted && held.length < wanted) {
      if (pacing?.deadlineMs !== undefined && Date.now() - start >= pacing.deadlineMs) break;
      const batch = Math.min(Math.max(1, concurrency), wanted - pool.totalCount);
      const began = Date.now();
      const results = await Promise.allSettled(Array.from({ length: batch }, () => pool.connect()));
      const made: pg.PoolClient[] = [];
      for (const result of results) if (result.status === 'fulfilled') made.push(result.value);
      held.push(...made);
      await Promise.all(made.map((client) => prepared.get(client)));
      if (made.length < batch) break;
      if (pacing && pool.totalCount < wanted) {
        const rest = Math.min(
          (Date.now() - began) * pacing.restRatio,
          start + pacing.withinMs - Date.now(),
          start + (pacing.deadlineMs ?? Number.POSITIVE_INFINITY) - Date.now(),
        );
        if (rest > 0) await sleep(rest);
      }
    }
  } finally {
    warming.delete(pool);
    for (const client of held) client.release();
  }
  return pool.totalCount;
}
