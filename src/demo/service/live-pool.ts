/**
 * The demo service's connection pool, replaceable while it serves: when its credentials change, a
 * new pool logs in with them (tried once before it takes any request, so bad credentials never
 * reach a client), new queries go to it, and the old pool drains: its queued and running queries
 * finish on their old connections, then it ends (pg-pool's end() would strand queued requests, so
 * it is called only once nothing waits on the old pool; bounded). The role is not a secret and is
 * what the service reports; the connection string is never logged.
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
}

export interface LivePool {
  /** The pool new queries use. */
  current(): pg.Pool;
  /** The role the current pool logs in as. */
  readonly role: string;
  /**
   * Moves to new credentials: resolves true once new queries use them (the old pool draining in
   * the background), false when they do not log in (the current pool stays).
   */
  swap(url: string): Promise<boolean>;
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

export function createLivePool(url: string, options: LivePoolOptions = {}): LivePool {
  const make = (connectionString: string): pg.Pool => {
    const pool = new pg.Pool({
      connectionString,
      max: options.max ?? 20,
      connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5000,
      ...(options.applicationName ? { application_name: options.applicationName } : {}),
    });
    pool.on('error', () => undefined); // a broken idle connection is replaced on next use
    return pool;
  };
  let pool = make(url);
  let role = roleOf(url);
  const draining = new Set<Promise<void>>();
  let swapping: Promise<unknown> = Promise.resolve();

  async function drain(old: pg.Pool): Promise<void> {
    const deadline = Date.now() + (options.drainMs ?? 30_000);
    while (old.waitingCount > 0 && Date.now() < deadline) await sleep(20);
    await old.end().catch(() => undefined);
  }

  async function swapNow(next: string): Promise<boolean> {
    const candidate = make(next);
    try {
      await candidate.query('select 1');
    } catch {
      await candidate.end().catch(() => undefined);
      return false;
    }
    const old = pool;
    pool = candidate;
    role = roleOf(next);
    const done = drain(old).finally(() => draining.delete(done));
    draining.add(done);
    return true;
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
    async end() {
      await swapping;
      await Promise.all([pool.end().catch(() => undefined), ...draining]);
    },
  };
}
