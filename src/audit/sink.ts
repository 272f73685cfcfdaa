/**
 * External sinks for signed checkpoints: somewhere the holder of the state directory cannot
 * rewrite. A checkpoint is one short line; each is sent as it is written.
 *
 * - `http://…` / `https://…`: a webhook, one HTTP POST per checkpoint with
 *   `{"trail": id, "checkpoint": {...}, "line": "..."}`, bounded by a timeout; send-only. Posts are
 *   not queued behind each other (a webhook that hangs delays no later checkpoint beyond its own
 *   bound); a receiver orders them by `checkpoint.seq`.
 * - `postgres://…` / `postgresql://…`: an append-only table `handoff_audit_checkpoints` on a
 *   PostgreSQL server that is not one of the migrated ones (created on first use, with a trigger
 *   that refuses UPDATE, DELETE and TRUNCATE); `handoff audit verify --against URL` reads it back.
 *
 * Sending never throws into the run: a failure is returned to the caller, which records it.
 */
import pg from 'pg';
import { InputError } from '../common/errors.js';

export interface CheckpointSink {
  /** Where checkpoints go, safe to print (a URL without its password). */
  readonly where: string;
  /** Sends one checkpoint line (canonical JSON, no newline) of trail `trailId`. Bounded by the sink's timeout. */
  send(trailId: string, line: string): Promise<void>;
}

export interface SinkOptions {
  /** Bound on one delivery. Default 5 s. */
  timeoutMs?: number;
}

export const SINK_TABLE = 'handoff_audit_checkpoints';

/** A URL with its password replaced, for messages. */
export function describeSink(spec: string): string {
  try {
    const url = new URL(spec);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return '(not a URL)';
  }
}

function kindOf(spec: string, where: string): 'webhook' | 'postgres' {
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    throw new InputError(
      `${where}: "${describeSink(spec)}" is not a URL; give http(s)://… for a webhook or postgres://… for a table`,
    );
  }
  if (url.protocol === 'http:' || url.protocol === 'https:') return 'webhook';
  if (url.protocol === 'postgres:' || url.protocol === 'postgresql:') return 'postgres';
  throw new InputError(
    `${where}: ${url.protocol} is not a checkpoint sink; give http(s)://… for a webhook or postgres://… for a table`,
  );
}

export function createCheckpointSink(spec: string, where: string, options: SinkOptions = {}): CheckpointSink {
  const timeoutMs = options.timeoutMs ?? 5_000;
  return kindOf(spec, where) === 'webhook' ? webhookSink(spec, timeoutMs) : postgresSink(spec, timeoutMs);
}

function webhookSink(url: string, timeoutMs: number): CheckpointSink {
  return {
    where: describeSink(url),
    async send(trailId, line) {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ trail: trailId, checkpoint: JSON.parse(line) as unknown, line }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      await response.arrayBuffer().catch(() => undefined);
      if (!response.ok) throw new Error(`the webhook answered HTTP ${response.status}`);
    },
  };
}

const CREATE_TABLE = `
CREATE TABLE IF NOT EXISTS ${SINK_TABLE} (
  trail_id text NOT NULL,
  seq bigint NOT NULL,
  line text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (trail_id, line)
);
CREATE OR REPLACE FUNCTION ${SINK_TABLE}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '${SINK_TABLE} is append-only';
END $$;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = '${SINK_TABLE}_append_only') THEN
    CREATE TRIGGER ${SINK_TABLE}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON ${SINK_TABLE}
      FOR EACH STATEMENT EXECUTE FUNCTION ${SINK_TABLE}_append_only();
  END IF;
END $$;
`;

async function withClient<T>(url: string, timeoutMs: number, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

function postgresSink(url: string, timeoutMs: number): CheckpointSink {
  let ready = false;
  // One delivery at a time, in order: the first creates the table, the others find it.
  let queue: Promise<unknown> = Promise.resolve();
  const deliver = async (trailId: string, line: string): Promise<void> => {
    const seq = (JSON.parse(line) as { seq?: unknown }).seq;
    await withClient(url, timeoutMs, async (client) => {
      if (!ready) {
        try {
          await client.query(CREATE_TABLE);
        } catch {
          // Another process creating the table at the same moment: the loser fails (a duplicate
          // type or trigger, "tuple concurrently updated"); by the second try everything is there.
          await new Promise((resolve) => setTimeout(resolve, 200));
          await client.query(CREATE_TABLE);
        }
        ready = true;
      }
      await client.query(`INSERT INTO ${SINK_TABLE} (trail_id, seq, line) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [
        trailId,
        typeof seq === 'number' ? seq : 0,
        line,
      ]);
    });
  };
  return {
    where: describeSink(url),
    send(trailId, line) {
      const delivery = queue.then(() => deliver(trailId, line));
      queue = delivery.catch(() => undefined);
      return delivery;
    },
  };
}

/** The checkpoint lines a sink holds for trail `trailId`, in the order they were received. */
export async function readSinkCheckpoints(spec: string, trailId: string, options: SinkOptions = {}): Promise<string[]> {
  if (kindOf(spec, '--against') !== 'postgres') {
    throw new InputError('--against: a webhook cannot be read back; give the postgres://… URL of the checkpoint table');
  }
  const timeoutMs = options.timeoutMs ?? 10_000;
  try {
    return await withClient(spec, timeoutMs, async (client) => {
      const exists = await client.query<{ found: string | null }>('SELECT to_regclass($1)::text AS found', [
        SINK_TABLE,
      ]);
      if (exists.rows[0]?.found == null) return [];
      const rows = await client.query<{ line: string }>(
        `SELECT line FROM ${SINK_TABLE} WHERE trail_id = $1 ORDER BY seq, received_at`,
        [trailId],
      );
      return rows.rows.map((row) => row.line);
    });
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(
      `--against: cannot read the checkpoints from ${describeSink(spec)}: ${error instanceof Error ? error.message : String(error)}`,
      {
        cause: error,
      },
    );
  }
}
