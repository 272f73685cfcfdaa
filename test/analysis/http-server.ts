/** Real HTTP servers on 127.0.0.1 for provider tests. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { freePort } from '../../src/common/net.js';

export interface TestServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startHttpServer(handler: http.RequestListener): Promise<TestServer> {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A server that accepts requests and never answers them (until closed). */
export function startHangingServer(): Promise<TestServer> {
  return startHttpServer(() => undefined);
}

/** A loopback URL where nothing listens. */
export async function unreachableUrl(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}`;
}

export function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}
