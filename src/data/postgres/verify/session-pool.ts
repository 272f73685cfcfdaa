/**
 * A small pool of sessions to one database, each opened with `connect()` (pinned settings), so
 * chunk hashes run concurrently on separate connections. A pool can also wrap one session the
 * caller owns (size 1; the caller ends it).
 */
import type pg from 'pg';
import { AdapterError } from '../../../common/errors.js';
import type { Redactor } from '../../../common/redact.js';
import { connect, PINNED_SETTINGS } from '../connect.js';

export interface SessionPool {
  /** What this side is, for messages: `source` or `target`. */
  readonly name: string;
  /** Runs `fn` with a session of its own; the session returns to the pool afterwards. */
  use<T>(fn: (client: pg.ClientBase) => Promise<T>): Promise<T>;
  /** Ends the sessions this pool opened. Idempotent. */
  close(): Promise<void>;
}

export interface SessionPoolOptions {
  name: string;
  size: number;
  redactor?: Redactor;
  statementTimeoutMs?: number;
  connectTimeoutMs?: number;
  signal?: AbortSignal;
}

/** Opens the first session at once, so a bad URL or password fails before any work starts. */
export async function createSessionPool(
  database: string | pg.ClientBase,
  options: SessionPoolOptions,
): Promise<SessionPool> {
  if (typeof database !== 'string') return await wrapClient(database, options.name);
  const url = database;
  // No parallel workers for verification's statements: each chunk is a small index range scan, for
  // which starting workers costs more than the scan (and takes CPU from the service); the pool's own
  // sessions are the parallelism, bounded by `concurrency`.
  const open = (): Promise<pg.Client> =>
    connect(url, {
      name: options.name,
      applicationName: 'handoff-verify',
      serial: true,
      ...(options.redactor ? { redactor: options.redactor } : {}),
      ...(options.statementTimeoutMs ? { statementTimeoutMs: options.statementTimeoutMs } : {}),
      ...(options.connectTimeoutMs ? { connectTimeoutMs: options.connectTimeoutMs } : {}),
    });
  const all: pg.Client[] = [await open()];
  const idle: pg.Client[] = [...all];
  const waiting: Array<(client: pg.Client) => void> = [];
  let opening = 0;
  let closed = false;

  const acquire = async (): Promise<pg.Client> => {
    if (closed) throw new AdapterError(`${options.name}: the verification sessions are closed`);
    options.signal?.throwIfAborted();
    const ready = idle.pop();
    if (ready) return ready;
    if (all.length + opening < options.size) {
      opening++;
      try {
        const client = await open();
        if (closed) {
          // closed while this session was opening: end it rather than leave it behind
          await client.end().catch(() => undefined);
          throw new AdapterError(`${options.name}: the verification sessions are closed`);
        }
        all.push(client);
        return client;
      } finally {
        opening--;
      }
    }
    return await new Promise<pg.Client>((resolve) => waiting.push(resolve));
  };
  const release = (client: pg.Client): void => {
    const next = waiting.shift();
    if (next) next(client);
    else idle.push(client);
  };

  return {
    name: options.name,
    async use(fn) {
      const client = await acquire();
      try {
        return await fn(client);
      } finally {
        release(client);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(all.map((client) => client.end().catch(() => undefined)));
    },
  };
}

/** A caller's session: pinned settings applied to it (session level), used one query at a time. */
async function wrapClient(client: pg.ClientBase, name: string): Promise<SessionPool> {
  for (const [key, value] of Object.entries(PINNED_SETTINGS)) {
    await client.query('select set_config($1, $2, false)', [key, value]);
  }
  let tail: Promise<unknown> = Promise.resolve();
  return {
    name,
    use(fn) {
      const result = tail.then(() => fn(client));
      tail = result.catch(() => undefined);
      return result;
    },
    async close() {},
  };
}
