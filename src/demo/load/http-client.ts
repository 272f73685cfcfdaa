/**
 * The load generator's HTTP client: one undici pool for the service's origin, driven through the
 * dispatch API with one handler object per request that collects the answer's bytes. undici's
 * `request()` wraps every answer in a Readable stream and consumes it back into text, and resolves
 * the origin's pool from a full URL each time: without them, the demo's handoff process (the load
 * and the engine) spends about a fifth less CPU per request at 1,000 requests/s (0.27 to 0.21 ms),
 * CPU taken from the same two cores as the service it measures (docs/benchmarks.md).
 */
import { Pool, type Dispatcher } from 'undici';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export interface HttpClient {
  /** Sends one request; rejects on a connection error or a time-out (headers or body). */
  send(method: string, path: string, headers: Record<string, string>, body: string | null): Promise<HttpAnswer>;
  close(): Promise<void>;
}

interface Call extends Dispatcher.DispatchHandler {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  chunks: Buffer[];
  resolve(answer: HttpAnswer): void;
  reject(error: Error): void;
}

// undici tells its handler APIs apart by this method: without it the handler is taken for the old one.
function onRequestStart(): void {}

function onResponseStart(
  this: Call,
  _controller: Dispatcher.DispatchController,
  statusCode: number,
  headers: Record<string, string | string[] | undefined>,
): void {
  if (statusCode < 200) return;
  this.status = statusCode;
  this.headers = headers;
}

function onResponseData(this: Call, _controller: Dispatcher.DispatchController, chunk: Buffer): void {
  this.chunks.push(chunk);
}

function onResponseEnd(this: Call): void {
  const text =
    this.chunks.length === 1
      ? (this.chunks[0] as Buffer).toString('utf8')
      : Buffer.concat(this.chunks).toString('utf8');
  this.resolve({ status: this.status, headers: this.headers, text });
}

function onResponseError(this: Call, _controller: Dispatcher.DispatchController, error: Error): void {
  this.reject(error);
}

export function createHttpClient(baseUrl: string, options: { connections: number; timeoutMs: number }): HttpClient {
  const url = new URL(baseUrl);
  const prefix = url.pathname.replace(/\/$/, '');
  const pool = new Pool(url.origin, {
    connections: options.connections,
    keepAliveTimeout: 10_000,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
  });
  return {
    send(method, path, headers, body) {
      return new Promise<HttpAnswer>((resolve, reject) => {
        const call: Call = {
          status: 0,
          headers: {},
          chunks: [],
          resolve,
          reject,
          onRequestStart,
          onResponseStart,
          onResponseData,
          onResponseEnd,
          onResponseError,
        };
        try {
          pool.dispatch({ origin: url.origin, path: prefix + path, method: method as 'GET', headers, body }, call);
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
    },
    close: () => pool.close(),
  };
}
