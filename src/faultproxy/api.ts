/**
 * Toxiproxy's HTTP API over a proxy collection (Hono), close enough that Toxiproxy clients
 * (`toxiproxy-node-client`, the Go client) drive it unchanged: the same paths, bodies, status codes
 * and error bodies `{"error": message, "status": code}`. Like Toxiproxy, it refuses requests whose
 * User-Agent is a browser's (403), so a web page cannot reach a local fault proxy.
 */
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { httpStatusFor, InputError, messageOf } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import type { ProxyCollection } from './proxy-collection.js';

/** What `GET /version` answers. */
export const FAULTPROXY_VERSION = 'handoff-faultproxy 1 (toxiproxy 2.x api)';

const MAX_BODY_BYTES = 1024 * 1024;

function errorBody(c: Context, status: ContentfulStatusCode, message: string): Response {
  return c.json({ error: message, status }, status);
}

async function readJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new InputError(`bad request body: not JSON: ${messageOf(error)}`);
  }
}

export function createFaultProxyApi(collection: ProxyCollection, deps: { logger: Logger }): Hono {
  const app = new Hono();

  app.use('*', async (c, next) => {
    if ((c.req.header('user-agent') ?? '').startsWith('Mozilla/')) {
      return c.text('User agent not allowed\n', 403);
    }
    await next();
  });
  app.use(
    '*',
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => errorBody(c, 413, `bad request body: larger than ${MAX_BODY_BYTES} bytes`),
    }),
  );
  app.onError((error, c) => {
    const status = httpStatusFor(error) as ContentfulStatusCode;
    if (status >= 500) deps.logger.warn('fault proxy API error', { error: messageOf(error) });
    return errorBody(c, status, messageOf(error));
  });
  app.notFound((c) => errorBody(c, 404, `not found: ${c.req.method} ${c.req.path}`));

  app.get('/version', (c) => c.json({ version: FAULTPROXY_VERSION }));
  app.post('/reset', async (c) => {
    await collection.reset();
    return c.body(null, 204);
  });

  app.get('/proxies', (c) => c.json(Object.fromEntries(collection.list().map((proxy) => [proxy.name, proxy]))));
  app.post('/proxies', async (c) => c.json(await collection.create(await readJson(c)), 201));
  app.post('/populate', async (c) => c.json({ proxies: await collection.populate(await readJson(c)) }, 201));

  app.get('/proxies/:proxy', (c) => c.json(collection.get(c.req.param('proxy'))));
  const updateProxy = async (c: Context): Promise<Response> =>
    c.json(await collection.update(c.req.param('proxy') ?? '', await readJson(c)));
  app.post('/proxies/:proxy', updateProxy);
  app.patch('/proxies/:proxy', updateProxy);
  app.delete('/proxies/:proxy', async (c) => {
    await collection.remove(c.req.param('proxy'));
    return c.body(null, 204);
  });

  app.get('/proxies/:proxy/toxics', (c) => c.json(collection.toxics(c.req.param('proxy'))));
  // Toxiproxy answers 200 (not 201) to a new toxic; clients expect that.
  app.post('/proxies/:proxy/toxics', async (c) => c.json(collection.addToxic(c.req.param('proxy'), await readJson(c))));
  app.get('/proxies/:proxy/toxics/:toxic', (c) =>
    c.json(collection.getToxic(c.req.param('proxy'), c.req.param('toxic'))),
  );
  const updateToxic = async (c: Context): Promise<Response> =>
    c.json(collection.updateToxic(c.req.param('proxy') ?? '', c.req.param('toxic') ?? '', await readJson(c)));
  app.post('/proxies/:proxy/toxics/:toxic', updateToxic);
  app.patch('/proxies/:proxy/toxics/:toxic', updateToxic);
  app.delete('/proxies/:proxy/toxics/:toxic', (c) => {
    collection.removeToxic(c.req.param('proxy'), c.req.param('toxic'));
    return c.body(null, 204);
  });

  return app;
}
