/**
 * The demo service: a small HTTP API on PostgreSQL, the kind of service handoff moves. Accounts with
 * transfers (the total never changes), orders (create, read, list) and order events. Every response
 * says which site served it (`X-Site`), so the load generator and the tests can tell.
 *
 * Writes are idempotent by `requestId`: a retried request returns the row it already made; except
 * client events (POST /events), appended with no uniqueness guard on purpose (schema.ts).
 * A fenced database (writes refused) answers 503 with Retry-After, never a 500.
 */
import http from 'node:http';
import pg from 'pg';
import { z } from 'zod';
import { InputError } from '../../common/errors.js';
import { DEMO_QUERIES, READ_QUERIES, type DemoQuery } from './queries.js';
import { alterOneField } from './alter.js';
import { readCredentialsFile, watchCredentialsFile } from './credentials-file.js';
import { createLivePool, queryReady } from './live-pool.js';

export interface DemoServiceOptions {
  /** The application's connection (a role without DDL rights); ignored when `credentialsFile` is set. */
  databaseUrl?: string;
  /**
   * A file holding the connection string (a mounted secret): read at start and followed; when it
   * changes, new queries log in with the new credentials and the old connections drain.
   */
  credentialsFile?: string;
  /** How often the credentials file is read besides its watch (milliseconds). */
  credentialsPollMs?: number;
  /** Where the service says what it does (credentials switched); never the credentials themselves. */
  log?: (line: string) => void;
  port: number;
  host?: string;
  site: string;
  /** Share of API requests (not /healthz) answered with a 500, to show automatic rollback. */
  errorRate?: number;
  /** Share of GET answers with one field altered (`--inject-target-diff`, on the target only). */
  diffRate?: number;
  poolSize?: number;
  /**
   * Test-only: apply every POST /events twice (the rehearsal's deliberately broken variant, which
   * its checker must catch as `duplicated`).
   */
  applyTwice?: boolean;
}

export interface DemoService {
  readonly port: number;
  /** The role the service's new connections log in as. */
  readonly role: string;
  close(): Promise<void>;
}

const transferBody = z.strictObject({
  requestId: z.uuid(),
  from: z.number().int().positive(),
  to: z.number().int().positive(),
  amount: z.number().int().positive().max(1_000_000),
});

const orderBody = z.strictObject({
  requestId: z.uuid(),
  clientId: z.string().min(1).max(100),
  item: z.string().min(1).max(200),
  quantity: z.number().int().positive().max(1000),
  details: z.record(z.string(), z.unknown()).optional(),
  note: z.string().max(1000).nullable().optional(),
});

const eventBody = z.strictObject({ kind: z.string().min(1).max(50) });

const clientEventBody = z.strictObject({
  requestId: z.uuid(),
  clientId: z.string().min(1).max(100),
  kind: z.string().min(1).max(50),
});

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const MAX_BODY = 64 * 1024;

function readJson(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new HttpError(413, 'body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        resolve(chunks.length === 0 ? {} : JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new HttpError(400, 'body is not JSON'));
      }
    });
    req.on('error', reject);
  });
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new HttpError(400, `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`);
  }
  return result.data;
}

/** A named prepared statement: parsed and planned once per pooled connection (after its `prepare`). */
const run = <R extends pg.QueryResultRow = pg.QueryResultRow>(
  pool: pg.Pool,
  query: DemoQuery,
  values: unknown[] = [],
): Promise<pg.QueryResult<R>> => queryReady<R>(pool, { name: query.name, text: query.text, values });

/**
 * Plans the service's writes on a new connection before it serves (`explain (generic_plan)`: nothing
 * runs, no row is touched): its catalog caches then hold the tables, indexes, constraints and
 * triggers the writes use. A site that refuses writes (fenced) refuses the plan after making it;
 * that refusal is ignored. The first writes after a cutover otherwise found every connection of the
 * target's service cold for writes, and paid for it all at once as the held writes were released.
 * (Planning the reads too at start-up was measured: no gain, and the provision stage paid for it.)
 */
async function prepareWrites(client: pg.ClientBase): Promise<void> {
  for (const query of Object.values(DEMO_QUERIES))
    if (!READ_QUERIES.includes(query))
      await client.query(`explain (generic_plan) ${query.text}`).catch(() => undefined);
}

/**
 * Readies a connection that credentials swap to, before it serves: runs every read as the named
 * prepared statement the service uses (with its sample parameters: a few index lookups), so the
 * statement is parsed and planned on it, and plans the writes as above. The swapped pool takes all
 * the traffic at once; unready, its 20 connections met every statement cold in the same second.
 */
async function prepareSwapped(client: pg.ClientBase): Promise<void> {
  for (const query of READ_QUERIES)
    await client.query({ name: query.name, text: query.text, values: query.sample }).catch(() => undefined);
  await prepareWrites(client);
}

export async function startDemoService(options: DemoServiceOptions): Promise<DemoService> {
  const file = options.credentialsFile;
  const initialUrl = file ? readCredentialsFile(file) : (options.databaseUrl ?? null);
  if (initialUrl === null)
    throw new InputError(
      file
        ? `the credentials file ${file} is missing or empty`
        : 'the demo service needs databaseUrl or credentialsFile',
    );
  const pools = createLivePool(initialUrl, {
    max: options.poolSize ?? 20,
    applicationName: 'demo-service',
    prepare: prepareWrites,
    prepareSwapped,
  });
  const log = options.log ?? (() => undefined);
  const watch = file ? followCredentials(file, initialUrl) : null;

  /** Moves to the file's new credentials; retried (bounded) while they do not log in yet. */
  function followCredentials(path: string, initial: string): { close(): void } {
    let retry: NodeJS.Timeout | undefined;
    const apply = (url: string, attempt: number): void => {
      clearTimeout(retry);
      void pools.swap(url).then((swap) => {
        if (swap.moved)
          log(
            `credentials changed: new connections log in as ${pools.role} (${swap.readied} of ${swap.wanted} connections readied in ${swap.tookMs} ms)`,
          );
        else if (attempt < 30 && readCredentialsFile(path) === url) {
          log(`credentials changed but do not log in yet (attempt ${attempt + 1}); still ${pools.role}`);
          retry = setTimeout(() => apply(url, attempt + 1), 1000);
        }
      });
    };
    const watcher = watchCredentialsFile(path, (url) => apply(url, 0), {
      initial,
      ...(options.credentialsPollMs ? { pollMs: options.credentialsPollMs } : {}),
    });
    return {
      close() {
        clearTimeout(retry);
        watcher.close();
      },
    };
  }
  const errorRate = options.errorRate ?? 0;
  const diffRate = options.diffRate ?? 0;

  async function transfer(body: z.infer<typeof transferBody>): Promise<[number, unknown]> {
    if (body.from === body.to) throw new HttpError(400, 'from and to must differ');
    const result = await run<{ found: boolean; funds: boolean; existing: string | null; id: string | null }>(
      pools.current(),
      DEMO_QUERIES.transfer,
      [body.from, body.to, body.amount, body.requestId],
    );
    const row = result.rows[0];
    if (row?.existing != null) return [200, { id: row.existing, duplicate: true }];
    if (!row?.found) throw new HttpError(404, 'no such account');
    if (!row.funds) return [409, { error: 'insufficient funds' }];
    return [201, { id: row.id }];
  }

  async function createOrder(body: z.infer<typeof orderBody>): Promise<[number, unknown]> {
    const inserted = await run(pools.current(), DEMO_QUERIES.insertOrder, [
      body.requestId,
      body.clientId,
      body.item,
      body.quantity,
      JSON.stringify(body.details ?? {}),
      body.note ?? null,
    ]);
    const order = inserted.rows[0];
    if (order) return [201, order];
    const existing = await run(pools.current(), DEMO_QUERIES.orderByRequest, [body.requestId]);
    return [200, existing.rows[0]];
  }

  async function route(req: http.IncomingMessage): Promise<[number, unknown]> {
    const url = new URL(req.url ?? '/', 'http://service');
    const parts = url.pathname.split('/').filter(Boolean);
    const method = req.method ?? 'GET';
    if (method === 'GET' && url.pathname === '/healthz') {
      await run(pools.current(), DEMO_QUERIES.health);
      return [200, { ok: true, site: options.site }];
    }
    if (errorRate > 0 && Math.random() < errorRate) throw new HttpError(500, 'injected error');
    if (parts[0] === 'accounts') {
      if (method === 'GET' && parts[1] === 'total') {
        const r = await run(pools.current(), DEMO_QUERIES.bankTotal);
        return [200, r.rows[0]];
      }
      if (method === 'GET' && parts.length === 2) {
        const id = Number(parts[1]);
        if (!Number.isInteger(id)) throw new HttpError(400, 'account id must be an integer');
        const r = await run(pools.current(), DEMO_QUERIES.account, [id]);
        return r.rowCount ? [200, r.rows[0]] : [404, { error: 'no such account' }];
      }
    }
    if (parts[0] === 'transfers' && method === 'POST' && parts.length === 1) {
      return transfer(parse(transferBody, await readJson(req)));
    }
    if (parts[0] === 'events' && method === 'POST' && parts.length === 1) {
      const body = parse(clientEventBody, await readJson(req));
      const values = [body.requestId, body.clientId, body.kind];
      const r = await run<{ id: string }>(pools.current(), DEMO_QUERIES.insertClientEvent, values);
      if (options.applyTwice) await run(pools.current(), DEMO_QUERIES.insertClientEvent, values);
      return [201, r.rows[0]];
    }
    if (parts[0] === 'orders') {
      if (method === 'POST' && parts.length === 1) return createOrder(parse(orderBody, await readJson(req)));
      if (method === 'GET' && parts.length === 1) {
        const clientId = url.searchParams.get('clientId');
        const limit = Math.min(Number(url.searchParams.get('limit') ?? 20) || 20, 100);
        const r = clientId
          ? await run(pools.current(), DEMO_QUERIES.clientOrders, [clientId, limit])
          : await run(pools.current(), DEMO_QUERIES.recentOrders, [limit]);
        return [200, { orders: r.rows }];
      }
      const id = parts[1];
      if (id === undefined || !/^\d+$/.test(id)) throw new HttpError(400, 'order id must be an integer');
      if (method === 'GET' && parts.length === 2) {
        const r = await run(pools.current(), DEMO_QUERIES.order, [id]);
        return r.rowCount ? [200, r.rows[0]] : [404, { error: 'no such order' }];
      }
      if (method === 'POST' && parts[2] === 'events' && parts.length === 3) {
        const body = parse(eventBody, await readJson(req));
        const r = await run(pools.current(), DEMO_QUERIES.insertEvent, [id, body.kind]);
        return [201, r.rows[0]];
      }
    }
    throw new HttpError(404, `no route for ${method} ${url.pathname}`);
  }

  const server = http.createServer((req, res) => {
    route(req)
      .then(([status, body]) =>
        send(
          res,
          status,
          status === 200 && req.method === 'GET' && Math.random() < diffRate ? alterOneField(body) : body,
        ),
      )
      .catch((error: unknown) => {
        const code = (error as { code?: string }).code;
        if (error instanceof HttpError) send(res, error.status, { error: error.message });
        else if (code === '42501' || code === '25006') {
          // The database refuses writes: it is fenced during a migration. Come back shortly.
          res.setHeader('Retry-After', '1');
          send(res, 503, { error: 'writes are paused (database fenced)' });
        } else if (code === '23505') send(res, 409, { error: 'conflict' });
        else send(res, 500, { error: 'internal error' });
      });
  });
  server.keepAliveTimeout = 30_000;

  function send(res: http.ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'x-site': options.site,
    });
    res.end(text);
  }

  // Every connection made before the first request (see live-pool.ts).
  await pools.warm();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;

  return {
    port,
    get role() {
      return pools.role;
    },
    async close() {
      watch?.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 2000).unref();
      });
      await pools.end();
    },
  };
}
