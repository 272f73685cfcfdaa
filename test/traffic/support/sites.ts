/**
 * Real HTTP servers on 127.0.0.1 standing in for the two sites: each answers with its own name
 * (body and `x-site` header) and records every request it saw, in arrival order.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { createEventBus, type HandoffEvent } from '../../../src/common/events.js';
import { createBuiltinRouter, type BuiltinRouter } from '../../../src/traffic/builtin/builtin-router.js';
import type { RouterOptionsInput } from '../../../src/traffic/builtin/options.js';
import type { RouterServerDeps } from '../../../src/traffic/builtin/server.js';

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface TestSite {
  name: string;
  url: string;
  server: http.Server;
  seen: SeenRequest[];
  /** Replace to change how the site answers (default: 200 with its name). */
  handler: (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;
  close(): Promise<void>;
}

export async function startSite(name: string): Promise<TestSite> {
  const site: TestSite = {
    name,
    url: '',
    seen: [],
    server: http.createServer(),
    handler: (_req, res) => {
      res.writeHead(200, { 'x-site': name, 'content-type': 'text/plain' });
      res.end(name);
    },
    close: () =>
      new Promise((resolve) => {
        site.server.closeAllConnections();
        site.server.close(() => resolve());
      }),
  };
  site.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    // Requests that stream are handled by a custom handler; the default reads the whole (small) body.
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      site.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      site.handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => site.server.listen(0, '127.0.0.1', resolve));
  site.url = `http://127.0.0.1:${(site.server.address() as AddressInfo).port}`;
  return site;
}

export interface RouterFixture extends BuiltinRouter {
  sites: Record<string, TestSite>;
  events: HandoffEvent[];
  client: Pool;
  /** One request through the proxy; returns status, headers and body text. */
  send(
    method: string,
    path: string,
    options?: { body?: string; headers?: Record<string, string> },
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }>;
  close(): Promise<void>;
}

export async function startRouterFixture(
  options: Partial<RouterOptionsInput> = {},
  names = ['source', 'target'],
  deps: Pick<RouterServerDeps, 'hold'> = {},
): Promise<RouterFixture> {
  const sites: Record<string, TestSite> = {};
  for (const name of names) sites[name] = await startSite(name);
  const bus = createEventBus();
  const events: HandoffEvent[] = [];
  bus.on((event) => events.push(event));
  const built = await createBuiltinRouter(
    {
      listen: { host: '127.0.0.1', port: 0 },
      sites: Object.fromEntries(names.map((name) => [name, (sites[name] as TestSite).url])),
      ...options,
    },
    { events: bus, ...deps },
  );
  const client = new Pool(built.server.proxyUrl, { connections: 16 });
  return {
    ...built,
    sites,
    events,
    client,
    async send(method, path, opts = {}) {
      const response = await client.request({
        method: method as 'GET',
        path,
        headers: opts.headers,
        body: opts.body,
      });
      const body = await response.body.text();
      return { status: response.statusCode, headers: response.headers, body };
    },
    async close() {
      await client.close();
      await built.server.close(1000);
      await Promise.all(Object.values(sites).map((site) => site.close()));
    },
  };
}
