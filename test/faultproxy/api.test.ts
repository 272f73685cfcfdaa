/**
 * The fault proxy's HTTP API against Toxiproxy's: paths, bodies, defaults, status codes and error
 * bodies, over real HTTP; bad bodies answer 400 naming the field and change nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventBus, type HandoffEvent } from '../../src/common/events.js';
import { createFaultProxy, type FaultProxy } from '../../src/faultproxy/fault-proxy.js';
import { connect, roundTrip, startEchoServer, waitUntil, type TestServer } from './tcp.js';

let faults: FaultProxy;
let echo: TestServer;

beforeAll(async () => {
  [faults, echo] = await Promise.all([createFaultProxy(), startEchoServer()]);
});
afterAll(async () => {
  await faults.close();
  await echo.close();
});

async function call(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: unknown; text: string }> {
  const response = await fetch(`${faults.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text === '' ? null : JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: response.status, json, text };
}

describe("the fault proxy's Toxiproxy API", () => {
  it('creates a proxy (201), lists proxies as an object keyed by name, shows one', async () => {
    const created = await call('POST', '/proxies', { name: 'db', upstream: `127.0.0.1:${echo.port}` });
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({
      name: 'db',
      upstream: `127.0.0.1:${echo.port}`,
      enabled: true,
      toxics: [],
    });
    const listen = (created.json as { listen: string }).listen;
    expect(listen).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(listen).not.toBe('127.0.0.1:0');

    const all = await call('GET', '/proxies');
    expect(all.status).toBe(200);
    expect(Object.keys(all.json as object)).toEqual(['db']);
    expect((all.json as Record<string, unknown>).db).toMatchObject({ name: 'db', listen });

    const one = await call('GET', '/proxies/db');
    expect(one.status).toBe(200);
    expect(one.json).toMatchObject({ name: 'db', listen, enabled: true });
  });

  it('answers 409 with {error, status} to a duplicate name, 404 to an unknown proxy or toxic', async () => {
    const duplicate = await call('POST', '/proxies', { name: 'db', upstream: `127.0.0.1:${echo.port}` });
    expect(duplicate.status).toBe(409);
    expect(duplicate.json).toMatchObject({ status: 409 });
    expect((duplicate.json as { error: string }).error).toMatch(/proxy already exists/);
    for (const [method, path] of [
      ['GET', '/proxies/nope'],
      ['DELETE', '/proxies/nope'],
      ['GET', '/proxies/nope/toxics'],
      ['GET', '/proxies/db/toxics/nope'],
      ['DELETE', '/proxies/db/toxics/nope'],
    ] as const) {
      const response = await call(method, path);
      expect(response.status, `${method} ${path}`).toBe(404);
      expect(response.json).toMatchObject({ status: 404 });
    }
  });

  it("adds a toxic with Toxiproxy's defaults (name <type>_<stream>, downstream, toxicity 1), shows, updates and deletes it", async () => {
    const added = await call('POST', '/proxies/db/toxics', { type: 'latency', attributes: { latency: 50 } });
    expect(added.status).toBe(200);
    expect(added.json).toEqual({
      name: 'latency_downstream',
      type: 'latency',
      stream: 'downstream',
      toxicity: 1,
      attributes: { latency: 50, jitter: 0 },
    });
    const again = await call('POST', '/proxies/db/toxics', { type: 'latency' });
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ status: 409 });

    const listed = await call('GET', '/proxies/db/toxics');
    expect(listed.json).toEqual([added.json]);
    expect((await call('GET', '/proxies/db')).json).toMatchObject({ toxics: [added.json] });

    const updated = await call('POST', '/proxies/db/toxics/latency_downstream', {
      attributes: { jitter: 5 },
      toxicity: 0.5,
    });
    expect(updated.status).toBe(200);
    expect(updated.json).toMatchObject({ toxicity: 0.5, attributes: { latency: 50, jitter: 5 } });
    expect((await call('GET', '/proxies/db/toxics/latency_downstream')).json).toEqual(updated.json);

    const removed = await call('DELETE', '/proxies/db/toxics/latency_downstream');
    expect(removed.status).toBe(204);
    expect(removed.text).toBe('');
    expect((await call('GET', '/proxies/db/toxics')).json).toEqual([]);
  });

  it('answers 400 naming the field to bad bodies, and changes nothing', async () => {
    const before = (await call('GET', '/proxies')).json;
    const cases: [string, string, unknown, RegExp][] = [
      ['POST', '/proxies', { upstream: `127.0.0.1:${echo.port}` }, /name: missing required field/],
      ['POST', '/proxies', { name: 'x' }, /upstream: missing required field/],
      ['POST', '/proxies', { name: 'x', upstream: 'nowhere' }, /upstream: "nowhere" is not HOST:PORT/],
      ['POST', '/proxies', { name: 'x', upstream: '127.0.0.1:1', listen: 'db.example:5' }, /listen: .*IP address/],
      ['POST', '/proxies', { name: 'x', upstream: '127.0.0.1:1', enabled: 'yes' }, /enabled: must be true or false/],
      ['POST', '/proxies', '{"name": ', /not JSON/],
      ['POST', '/proxies/db', { enabled: 1 }, /enabled: must be true or false/],
      ['POST', '/proxies/db/toxics', { type: 'explode' }, /type: invalid toxic type "explode"/],
      ['POST', '/proxies/db/toxics', { attributes: {} }, /type: missing/],
      ['POST', '/proxies/db/toxics', { type: 'latency', stream: 'sideways' }, /stream: must be upstream or downstream/],
      ['POST', '/proxies/db/toxics', { type: 'latency', toxicity: 2 }, /toxicity: must be a number from 0 to 1/],
      ['POST', '/proxies/db/toxics', { type: 'latency', attributes: { latency: 'slow' } }, /attributes\.latency:/],
      ['POST', '/proxies/db/toxics', { type: 'latency', attributes: { latency: -1 } }, /attributes\.latency:/],
      ['POST', '/proxies/db/toxics', { type: 'bandwidth', attributes: { speed: 1 } }, /attributes\.speed: .*rate/],
      ['POST', '/proxies/db/toxics', { type: 'slicer' }, /attributes\.average_size/],
      [
        'POST',
        '/proxies/db/toxics',
        { type: 'slicer', attributes: { average_size: 10, size_variation: 10 } },
        /attributes\.size_variation: must be less than average_size/,
      ],
      ['POST', '/populate', { name: 'x' }, /must be a JSON array/],
      ['POST', '/populate', [{ name: 'ok', upstream: '127.0.0.1:1' }, { name: 'bad' }], /\[1\]\.upstream/],
    ];
    for (const [method, path, body, message] of cases) {
      const response = await call(method, path, body);
      expect(response.status, `${method} ${path} ${JSON.stringify(body)}`).toBe(400);
      expect(response.json).toMatchObject({ status: 400 });
      expect((response.json as { error: string }).error).toMatch(message);
    }
    expect((await call('GET', '/proxies')).json).toEqual(before);
  });

  it('takes a proxy down with {"enabled": false} and back up; /reset enables all and removes toxics (204)', async () => {
    const listen = faults.proxy('db').listen.split(':').pop() ?? '0';
    const down = await call('POST', '/proxies/db', { enabled: false });
    expect(down.status).toBe(200);
    expect(down.json).toMatchObject({ enabled: false });
    await expect(connect(Number(listen))).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    expect((await call('POST', '/proxies/db/toxics', { type: 'timeout', attributes: { timeout: 0 } })).status).toBe(
      200,
    );
    const reset = await call('POST', '/reset');
    expect(reset.status).toBe(204);
    expect((await call('GET', '/proxies/db')).json).toMatchObject({ enabled: true, toxics: [] });
    const c = await connect(Number(listen));
    await roundTrip(c, 'after reset');
    c.socket.destroy();
  });

  it('moves a proxy to a new upstream, keeping its toxics', async () => {
    const other = await startEchoServer();
    try {
      await call('POST', '/proxies/db/toxics', { type: 'latency', attributes: { latency: 1 } });
      const moved = await call('PATCH', '/proxies/db', { upstream: `127.0.0.1:${other.port}` });
      expect(moved.status).toBe(200);
      expect(moved.json).toMatchObject({
        upstream: `127.0.0.1:${other.port}`,
        toxics: [{ name: 'latency_downstream' }],
      });
      await call('POST', '/reset');
      expect((await call('PATCH', '/proxies/db', { upstream: `127.0.0.1:${echo.port}` })).status).toBe(200);
    } finally {
      await other.close();
    }
  });

  it('gives one of two simultaneous creates of a name 201 and the other 409', async () => {
    const body = { name: 'twin', upstream: `127.0.0.1:${echo.port}` };
    const statuses = (await Promise.all([call('POST', '/proxies', body), call('POST', '/proxies', body)])).map(
      (response) => response.status,
    );
    expect(statuses.sort()).toEqual([201, 409]);
    expect((await call('DELETE', '/proxies/twin')).status).toBe(204);
  });

  it('answers 409 to a listen address in use and leaves the proxy as it was', async () => {
    const before = faults.proxy('db');
    const taken = await call('POST', '/proxies', { name: 'taken', upstream: '127.0.0.1:1', listen: before.listen });
    expect(taken.status).toBe(409);
    expect((taken.json as { error: string }).error).toMatch(/address already in use/);
    const other = await call('POST', '/proxies', { name: 'other', upstream: `127.0.0.1:${echo.port}` });
    const move = await call('POST', '/proxies/db', { listen: (other.json as { listen: string }).listen });
    expect(move.status).toBe(409);
    expect(faults.proxy('db')).toEqual(before);
    const c = await connect(Number(before.listen.split(':').pop()));
    await roundTrip(c, 'still here');
    c.socket.destroy();
    expect((await call('DELETE', '/proxies/other')).status).toBe(204);
  });

  it('populates a list of proxies (201, {proxies: [...]}), keeping an unchanged one', async () => {
    const listen = faults.proxy('db').listen;
    const populated = await call('POST', '/populate', [
      { name: 'db', upstream: faults.proxy('db').upstream, listen },
      { name: 'cache', upstream: `127.0.0.1:${echo.port}` },
    ]);
    expect(populated.status).toBe(201);
    const proxies = (populated.json as { proxies: { name: string; listen: string }[] }).proxies;
    expect(proxies.map((proxy) => proxy.name)).toEqual(['db', 'cache']);
    expect(proxies[0]?.listen).toBe(listen);
    expect(Object.keys((await call('GET', '/proxies')).json as object).sort()).toEqual(['cache', 'db']);
  });

  it('deletes a proxy (204) and closes its connections', async () => {
    const port = Number(faults.proxy('cache').listen.split(':').pop());
    const c = await connect(port);
    await roundTrip(c, 'x');
    const removed = await call('DELETE', '/proxies/cache');
    expect(removed.status).toBe(204);
    await waitUntil(() => c.endedAt !== null || c.closedAt !== null, 5_000, 'the connection to end');
    expect((await call('GET', '/proxies/cache')).status).toBe(404);
    c.socket.destroy();
  });

  it('answers /version, refuses browsers (403) like Toxiproxy, and 404s unknown paths as JSON', async () => {
    const version = await call('GET', '/version');
    expect(version.status).toBe(200);
    expect(version.json).toMatchObject({ version: expect.any(String) });
    const browser = await call('GET', '/proxies', undefined, { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64)' });
    expect(browser.status).toBe(403);
    const unknown = await call('GET', '/nothing-here');
    expect(unknown.status).toBe(404);
    expect(unknown.json).toMatchObject({ status: 404 });
  });
});

describe("the fault proxy's events", () => {
  it('tells every change of a proxy or toxic, by API or by call, on the event bus it is given', async () => {
    const events = createEventBus();
    const seen: HandoffEvent[] = [];
    events.on((event) => seen.push(event));
    const own = await createFaultProxy({}, { events });
    try {
      const post = (path: string, body: unknown): Promise<Response> =>
        fetch(`${own.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
      expect((await post('/proxies', { name: 'p', upstream: `127.0.0.1:${echo.port}` })).status).toBe(201);
      expect((await post('/proxies/p/toxics', { type: 'latency', attributes: { latency: 5 } })).status).toBe(200);
      own.updateToxic('p', 'latency_downstream', { attributes: { latency: 9 } });
      await own.setEnabled('p', false);
      await own.reset();
      await own.removeProxy('p');
      expect(seen.map((event) => event.type)).toEqual([
        'faultproxy-proxy-added',
        'faultproxy-toxic-added',
        'faultproxy-toxic-updated',
        'faultproxy-proxy-enabled',
        'faultproxy-proxy-enabled',
        'faultproxy-toxic-removed',
        'faultproxy-reset',
        'faultproxy-proxy-removed',
      ]);
      expect(seen[1]).toMatchObject({
        actor: 'faultproxy',
        subject: 'p',
        data: { proxy: 'p', toxic: { name: 'latency_downstream', attributes: { latency: 5 } } },
      });
      expect(seen[3]?.data).toEqual({ proxy: 'p', enabled: false });
      expect(seen[4]?.data).toEqual({ proxy: 'p', enabled: true });
    } finally {
      await own.close();
    }
  });
});
