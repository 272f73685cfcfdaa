/**
 * A bounded load loop for the drills: GETs through the router's listen port at a steady rate
 * (about 100 requests/s), each answer recorded with when it was sent, when it came back, its
 * status and the site that answered (the `x-drill-site` header). Bounded in requests, in time and
 * in requests in flight; stopped by `stop()`, which waits for the requests in flight and closes
 * the connections.
 */
import { Agent, request } from 'undici';

export interface LoadAnswer {
  /** `performance.now()` when the request was sent and when its answer (or failure) came. */
  sentAt: number;
  doneAt: number;
  /** HTTP status; 0 when no answer came (refused, reset, timed out). */
  status: number;
  /** The site that answered, from its header; null without an answer. */
  site: string | null;
  /** Why no answer came (status 0). */
  error?: string;
}

export interface LoadOptions {
  /** Base URL of the router's proxy, for example http://127.0.0.1:PORT. */
  url: string;
  ratePerSecond?: number;
  /** Bounds: at most this many requests, for at most this long, this many at once. */
  maxRequests?: number;
  maxMs?: number;
  maxInFlight?: number;
}

export interface Load {
  readonly answers: readonly LoadAnswer[];
  /** Answers to requests sent at or after `perf` (a `performance.now()` value). */
  sentSince(perf: number): LoadAnswer[];
  /** The first `count` answers to requests sent after `perf`, once they have come back (bounded by `timeoutMs`). */
  waitForAnswers(perf: number, count: number, timeoutMs?: number): Promise<LoadAnswer[]>;
  stop(): Promise<void>;
}

export function startLoad(options: LoadOptions): Load {
  const rate = options.ratePerSecond ?? 100;
  const maxRequests = options.maxRequests ?? 20_000;
  const until = performance.now() + (options.maxMs ?? 150_000);
  const maxInFlight = options.maxInFlight ?? 32;
  const agent = new Agent({ connections: maxInFlight, keepAliveTimeout: 1000, connectTimeout: 2000 });
  const answers: LoadAnswer[] = [];
  const inFlight = new Set<Promise<void>>();
  let sent = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const send = (): void => {
    sent++;
    const sentAt = performance.now();
    const one = request(`${options.url}/items/${sent}`, { dispatcher: agent, headersTimeout: 5000, bodyTimeout: 5000 })
      .then(async (res) => {
        await res.body.text();
        const header = res.headers['x-drill-site'];
        answers.push({
          sentAt,
          doneAt: performance.now(),
          status: res.statusCode,
          site: typeof header === 'string' ? header : null,
        });
      })
      .catch((error: unknown) => {
        const code = error instanceof Error && 'code' in error ? String(error.code) : '';
        const message = error instanceof Error ? `${code ? `${code}: ` : ''}${error.message}` : String(error);
        answers.push({ sentAt, doneAt: performance.now(), status: 0, site: null, error: message });
      });
    inFlight.add(one);
    void one.finally(() => inFlight.delete(one));
  };

  // Paced by a schedule, not by answers: a slow answer does not slow the load (up to maxInFlight).
  const started = performance.now();
  const tick = (): void => {
    if (stopped) return;
    const now = performance.now();
    if (now > until || sent >= maxRequests) return;
    const due = Math.floor(((now - started) / 1000) * rate) + 1;
    while (sent < due && sent < maxRequests && inFlight.size < maxInFlight) send();
    timer = setTimeout(tick, 5);
  };
  tick();

  const sentSince = (perf: number): LoadAnswer[] => answers.filter((a) => a.sentAt >= perf);
  return {
    answers,
    sentSince,
    async waitForAnswers(perf, count, timeoutMs = 30_000) {
      const deadline = performance.now() + timeoutMs;
      for (;;) {
        const got = sentSince(perf);
        if (got.length >= count) return got.slice(0, count);
        if (performance.now() > deadline || stopped) {
          throw new Error(`only ${got.length} of ${count} answers came within ${timeoutMs} ms`);
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await Promise.allSettled([...inFlight]);
      await agent.close();
    },
  };
}
