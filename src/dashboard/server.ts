/**
 * The dashboard's HTTP server (Hono on Node): the page, its API, the live event stream and
 * `/metrics`, all read from a state directory, so it shows runs driven by this process or any
 * other. Bad input is 400 JSON, an unknown run 404 JSON, never a stack. Every open event stream
 * ends when the server closes.
 */
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { HandoffError, httpStatusFor, messageOf } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { Redactor } from '../common/redact.js';
import type { EngineEnv } from '../engine/run-session.js';
import { listRuns } from '../engine/status.js';
import { describeRun } from '../engine/status.js';
import { scrubUrlCredentials } from '../report/scrub.js';
import { loadAssets } from './assets.js';
import { tokenGuard } from './auth.js';
import type { ListenAddress } from './listen.js';
import { renderMetrics } from './metrics.js';
import { renderRunPage, renderRunsPage } from './page.js';
import { renderRehearsalMetrics } from './rehearsal-metrics.js';
import { readRehearsalState, renderRehearsalPanel } from './rehearsal-panel.js';
import { readTrailFrom, trailFile } from './trail-follow.js';
import { buildRunView } from './view.js';

export interface DashboardOptions {
  stateDir: string;
  listen: ListenAddress;
  token: string | null;
  redactor: Redactor;
  logger: Logger;
  /** How often an event stream looks for new records (default 250 ms). */
  pollMs?: number;
}

export interface Dashboard {
  /** `http://host:port` (the port the kernel gave when 0 was asked). */
  url: string;
  close(): Promise<void>;
}

const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const KEEPALIVE_MS = 15_000;

function runIdOf(c: Context): string {
  const id = c.req.param('id') ?? '';
  if (!RUN_ID.test(id))
    throw new HandoffError('input.invalid', `run id "${id.slice(0, 80)}" is not a run id (letters, digits, . _ -)`);
  return id;
}

export function dashboardApp(options: DashboardOptions, closing: AbortSignal): Hono {
  const { stateDir, redactor } = options;
  const pollMs = options.pollMs ?? 250;
  const env: EngineEnv = {
    stateDir,
    env: {},
    cwd: process.cwd(),
    redactor,
    logger: options.logger,
    actor: 'dashboard',
  };
  const assets = loadAssets();
  const app = new Hono();
  const clean = <T>(value: T): T => JSON.parse(scrubUrlCredentials(JSON.stringify(redactor.redactValue(value)))) as T;

  app.onError((error, c) => {
    const status = httpStatusFor(error);
    if (status >= 500) options.logger.error('dashboard request failed', { path: c.req.path, error: messageOf(error) });
    const message = status >= 500 ? 'internal error (see the dashboard log)' : redactor.redact(messageOf(error));
    return c.json({ error: error instanceof HandoffError ? error.code : 'internal', message }, status as 400);
  });
  app.notFound((c) => c.json({ error: 'not-found', message: `no such page: ${c.req.path.slice(0, 200)}` }, 404));
  app.use('*', async (c, next) => {
    await next();
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Referrer-Policy', 'no-referrer');
    c.header(
      'Content-Security-Policy',
      "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; connect-src 'self'; img-src 'self' data:",
    );
  });
  if (options.token !== null) app.use('*', tokenGuard(options.token));

  app.get('/assets/:name', (c) => {
    const asset = assets[c.req.param('name')];
    if (!asset) return c.json({ error: 'not-found', message: 'no such asset' }, 404);
    c.header('Content-Type', asset.type);
    c.header('Cache-Control', 'no-cache');
    return c.body(asset.body);
  });
  const rehearsal = () => clean(readRehearsalState(stateDir));
  app.get('/', (c) => c.html(renderRunsPage(clean(listRuns(env)), stateDir, renderRehearsalPanel(rehearsal()))));
  app.get('/runs/:id', (c) => {
    const id = runIdOf(c);
    return c.html(renderRunPage(buildRunView(env, id), renderRehearsalPanel(rehearsal(), id)));
  });
  // The state directory's rehearsal result (a RehearsalResult); 404 when it has none.
  app.get('/api/rehearsal', (c) => {
    const state = rehearsal();
    if (state === null)
      return c.json({ error: 'not-found', message: 'this state directory has no rehearsal result' }, 404);
    if ('problem' in state) return c.json({ error: 'unreadable', message: state.problem }, 500);
    return c.json(state.result);
  });
  app.get('/api/runs', (c) =>
    c.json(
      clean(
        listRuns(env).map((r) => ({
          id: r.id,
          migration: r.plan,
          state: r.state,
          stage: r.stage,
          startedAt: r.started,
          updatedAt: r.updated,
        })),
      ),
    ),
  );
  app.get('/api/runs/:id', (c) => c.json(clean(describeRun(env, runIdOf(c)))));
  app.get('/api/runs/:id/view', (c) => c.json(buildRunView(env, runIdOf(c))));
  app.get('/api/runs/:id/events', (c) => {
    const id = runIdOf(c);
    describeRun(env, id); // 404 before the stream starts
    const afterText = c.req.header('last-event-id') ?? c.req.query('after') ?? '0';
    if (!/^\d{1,15}$/.test(afterText))
      throw new HandoffError('input.invalid', `after: "${afterText.slice(0, 40)}" is not a record number`);
    const after = Number(afterText);
    return streamSSE(c, async (stream) => {
      const file = trailFile(stateDir);
      let offset = 0;
      let lastWrite = Date.now();
      const stop = new Promise<void>((resolve) => {
        stream.onAbort(resolve);
        closing.addEventListener('abort', () => resolve(), { once: true });
      });
      while (!stream.aborted && !closing.aborted) {
        const chunk = readTrailFrom(file, offset, id);
        offset = chunk.offset;
        for (const record of chunk.records) {
          if (record.seq <= after) continue;
          await stream.writeSSE({ id: String(record.seq), data: JSON.stringify(clean(record)) });
          lastWrite = Date.now();
        }
        if (chunk.records.length > 0) continue;
        if (Date.now() - lastWrite > KEEPALIVE_MS) {
          await stream.write(': keepalive\n\n');
          lastWrite = Date.now();
        }
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([stop, new Promise((resolve) => (timer = setTimeout(resolve, pollMs)))]);
        clearTimeout(timer);
      }
    });
  });
  app.get('/metrics', (c) => {
    const runs = listRuns(env).map((r) => ({ id: r.id, migration: r.plan, state: r.state, stage: r.stage }));
    const records = [];
    let offset = 0;
    for (;;) {
      const chunk = readTrailFrom(trailFile(stateDir), offset, null);
      records.push(...chunk.records);
      if (chunk.offset === offset) break;
      offset = chunk.offset;
    }
    c.header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8');
    const rehearsed = rehearsal();
    const extra = rehearsed !== null && 'result' in rehearsed ? renderRehearsalMetrics(rehearsed.result) : '';
    return c.body(redactor.redact(renderMetrics(runs, records) + extra));
  });
  return app;
}

/** Starts the dashboard; resolves once it listens. */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const closing = new AbortController();
  const app = dashboardApp(options, closing.signal);
  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: options.listen.host, port: options.listen.port });
    s.once('listening', () => resolve(s));
    s.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new HandoffError(
          error.code === 'EADDRINUSE' || error.code === 'EADDRNOTAVAIL' || error.code === 'EACCES'
            ? 'usage'
            : 'internal',
          `the dashboard cannot listen on ${options.listen.host}:${options.listen.port}: ${error.code ?? error.message}`,
        ),
      ),
    );
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        closing.abort();
        const timer = setTimeout(() => {
          if ('closeAllConnections' in server) server.closeAllConnections();
        }, 1000);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        if ('closeIdleConnections' in server) server.closeIdleConnections();
      }),
  };
}
