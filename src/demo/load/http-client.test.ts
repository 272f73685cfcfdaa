/**
 * The load generator's HTTP client against a real HTTP server on 127.0.0.1: what it sends, what it
 * gives back (status, headers, the whole body however it is split), and how it fails (nothing
 * listening, an answer that does not come in time, a connection cut mid-body).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpClient, type HttpClient } from './http-client.js';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const servers: http.Server[] = [];
const clients: HttpClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

async function serve(handle: (seen: Seen, res: http.ServerResponse) => void): Promise<string> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => handle({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body }, res));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function client(baseUrl: string, timeoutMs = 5_000): HttpClient {
  const made = createHttpClient(baseUrl, { connections: 4, timeoutMs });
  clients.push(made);
  return made;
}

describe('the load generator HTTP client', () => {
  it('sends the method, the path under the base URL, the headers and the body', async () => {
    const seen: Seen[] = [];
    const base = await serve((s, res) => {
      seen.push(s);
      res.writeHead(201, { 'content-type': 'application/json', 'x-site': 'target' });
      res.end('{"id":"7"}');
    });
    const answer = await client(`${base}/api/`).send(
      'POST',
      '/orders?x=1',
      { 'content-type': 'application/json', cookie: 'a=b' },
      '{"item":"café"}',
    );
    expect(answer.status).toBe(201);
    expect(answer.headers['x-site']).toBe('target');
    expect(JSON.parse(answer.text)).toEqual({ id: '7' });
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/api/orders?x=1', body: '{"item":"café"}' });
    expect(seen[0]?.headers.cookie).toBe('a=b');
  });

  it('gives back a body sent in several pieces whole, a multi-byte character split between them, and every set-cookie', async () => {
    const base = await serve((_, res) => {
      res.writeHead(200, { 'set-cookie': ['a=1; Path=/', 'b=2; Path=/'] });
      const bytes = Buffer.from('{"note":"smørbrød"}');
      const cut = bytes.indexOf(0xc3) + 1; // inside the two bytes of "ø"
      res.write(bytes.subarray(0, cut));
      setTimeout(() => res.end(bytes.subarray(cut)), 20);
    });
    const answer = await client(base).send('GET', '/', {}, null);
    expect(answer.text).toBe('{"note":"smørbrød"}');
    expect(answer.headers['set-cookie']).toEqual(['a=1; Path=/', 'b=2; Path=/']);
  });

  it('answers with the status of an error page, and an empty body as empty text', async () => {
    const base = await serve((_, res) => {
      res.writeHead(503, { 'retry-after': '1' });
      res.end();
    });
    const answer = await client(base).send('GET', '/', {}, null);
    expect(answer).toMatchObject({ status: 503, text: '' });
    expect(answer.headers['retry-after']).toBe('1');
  });

  it('rejects when nothing listens', async () => {
    const base = await serve((_, res) => res.end());
    const server = servers.pop() as http.Server;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await expect(client(base).send('GET', '/', {}, null)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('rejects an answer that does not come within the time-out, and one cut mid-body', async () => {
    const silent = await serve(() => undefined);
    await expect(client(silent, 200).send('GET', '/', {}, null)).rejects.toMatchObject({
      code: 'UND_ERR_HEADERS_TIMEOUT',
    });
    const cut = await serve((_, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('{"partial":');
      setTimeout(() => res.destroy(), 20);
    });
    await expect(client(cut).send('GET', '/', {}, null)).rejects.toThrow();
  });
});
