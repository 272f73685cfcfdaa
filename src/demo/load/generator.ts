/**
 * The load generator: a mix of reads and writes at a target rate from a few virtual clients, each
 * with its own cookies (so the router's read-after-write stickiness applies per client). Keeps a
 * ledger of every write and checks every client's reads of its own writes. Bounded in count and time.
 *
 * Client truth: every request's latency goes into a fixed-memory histogram of the stage current
 * when it was sent (`setStage`; `baseline` until the run starts), per class, and a request the
 * generator could not send (too many in flight) counts as offered and not sent.
 */
import { randomUUID } from 'node:crypto';
import { createHttpClient } from './http-client.js';
import { BASELINE_STAGE, createClientLatency, type ClientLatency } from './client-latency.js';
import type { HistoryRecorder, OpKind } from '../../rehearsal/history.js';
import { createLedger, LOAD_CLIENT_PREFIX, type Ledger, type OrderWrite } from './ledger.js';

export interface LoadOptions {
  /** Where the service answers (the router, in the demo). */
  baseUrl: string;
  /** Requests per second, all clients together. */
  rate: number;
  /** Share of requests that are reads (0..1). */
  readShare?: number;
  clients?: number;
  /** Number of accounts in the bank (ids 1..accounts). */
  accounts: number;
  maxInFlight?: number;
  /**
   * The rate rises linearly from 0 to `rate` over this long (default 0: full rate at once), so
   * cold processes (JIT, pools, connections) warm up instead of building a queue they never drain.
   */
  rampMs?: number;
  /** The stage requests count in until `setStage` (default `baseline`). */
  initialStage?: string;
  /** Hard bounds: the generator stops by itself at whichever comes first. */
  maxRequests: number;
  maxDurationMs: number;
  requestTimeoutMs?: number;
  /**
   * Records every operation (invoke, then ok/fail/info) for the rehearsal's checker; with it, a
   * few reads (3 %) read the bank's total. Left out: nothing is recorded (no cost per request).
   */
  history?: HistoryRecorder;
}

export interface LoadStats {
  /** Requests due at the rate asked for (sent or not). */
  offered: number;
  /** Requests sent. */
  total: number;
  /** 5xx answers, connection failures and time-outs. */
  failed: number;
  /** Of `failed`, those with no answer at all (time-out after `requestTimeoutMs`, connection error). */
  failedWithoutAnswer: number;
  /** Requests not sent because maxInFlight was reached (the generator could not keep up). */
  notSent: number;
  /**
   * The clients' own stops: ticks of the load's 5 ms clock that came more than `CLIENT_STOP_MS`
   * late, so for that long no client ran (the machine was stopped, or the clients' thread had no
   * CPU). The requests due meanwhile are offered at once when the clock runs again, as one burst
   * that real clients, each on a machine of its own, never send; `notSent` counts those of them
   * that could not be sent (also in the total `notSent`). Judge a run with stops knowing that its
   * clients measured their own pause too.
   */
  stops: { count: number; totalMs: number; longestMs: number; notSent: number };
  reads: number;
  writes: number;
  bySite: Record<string, number>;
  /** The first 100 failures; `at` is ms since the start, `time` the wall clock (epoch ms), `site` the X-Site that answered. */
  failures: Array<{
    at: number;
    time: number;
    what: string;
    status: number | null;
    reason: string;
    site: string | null;
  }>;
  /** Wall clock (epoch ms) of the first 5xx answered by each site (X-Site). */
  first5xxBySite: Record<string, number>;
}

export interface LoadGenerator {
  readonly ledger: Ledger;
  /** Latency per stage and class, and the writes in flight for the client-side write pause. */
  readonly latency: ClientLatency;
  /** Requests sent from now on count in `stage`. */
  setStage(stage: string): void;
  stats(): LoadStats;
  /** Stops issuing requests and waits (bounded) for those in flight. */
  stop(): Promise<LoadStats>;
  /** Resolves when the generator stopped by itself (bound reached) or was stopped. */
  readonly done: Promise<LoadStats>;
}

interface VirtualClient {
  id: string;
  cookies: Map<string, string>;
  lastOrder: OrderWrite | null;
}

const items = ['widget', 'gadget', 'café crème', 'naïve bun', 'smørbrød'];

export function startLoad(options: LoadOptions): LoadGenerator {
  const readShare = options.readShare ?? 0.6;
  const maxInFlight = options.maxInFlight ?? 64;
  const timeout = options.requestTimeoutMs ?? 10_000;
  const http = createHttpClient(options.baseUrl, { connections: maxInFlight, timeoutMs: timeout });
  const ledger = createLedger();
  const clients: VirtualClient[] = Array.from({ length: options.clients ?? 8 }, (_, i) => ({
    id: `${LOAD_CLIENT_PREFIX}${i}-${randomUUID().slice(0, 8)}`,
    cookies: new Map(),
    lastOrder: null,
  }));
  ledger.clients.push(...clients.map((c) => c.id));
  const latency = createClientLatency(options.initialStage ?? BASELINE_STAGE);
  const stats = emptyLoadStats();
  const started = Date.now();
  let issued = 0;
  let inFlight = 0;
  let stopped = false;
  const pending = new Set<Promise<void>>();
  const history = options.history ?? null;
  let opSeq = 0;
  let resolveDone: (s: LoadStats) => void = () => undefined;
  const done = new Promise<LoadStats>((resolve) => (resolveDone = resolve));

  const send = async (client: VirtualClient, method: string, path: string, body?: unknown) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (client.cookies.size > 0) headers.cookie = [...client.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const response = await http.send(method, path, headers, body === undefined ? null : JSON.stringify(body));
    const setCookie = response.headers['set-cookie'];
    for (const line of Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : []) {
      const [pair] = line.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (pair && eq > 0) client.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    const text = response.text;
    const site = String(response.headers['x-site'] ?? 'unknown');
    stats.bySite[site] = (stats.bySite[site] ?? 0) + 1;
    if (response.status >= 500 && stats.first5xxBySite[site] === undefined) stats.first5xxBySite[site] = Date.now();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      json = null;
    }
    return { status: response.status, json: json as Record<string, unknown> | null, site };
  };

  const fail = (what: string, status: number | null, reason: string, site: string | null = null) => {
    stats.failed++;
    if (status === null) stats.failedWithoutAnswer++;
    const now = Date.now();
    if (stats.failures.length < 100) stats.failures.push({ at: now - started, time: now, what, status, reason, site });
  };

  const operation = async (): Promise<void> => {
    const client = clients[Math.floor(Math.random() * clients.length)] as VirtualClient;
    const read = Math.random() < readShare;
    stats.total++;
    if (read) stats.reads++;
    else stats.writes++;
    const r = Math.random();
    const stage = latency.stage();
    const sentAt = Date.now();
    const token = read ? -1 : latency.writeStarted(sentAt);
    // The history's operation in flight (only with a history): completed as info (a write) or
    // fail (a read) if the request throws.
    let op: { f: OpKind; n: number } | null = null;
    const invoke = (f: OpKind, value: Record<string, unknown>): void => {
      if (!history) return;
      op = { f, n: opSeq++ };
      history.record({ type: 'invoke', f, process: client.id, op: op.n, time: sentAt, value });
    };
    const complete = (type: 'ok' | 'fail' | 'info', value: Record<string, unknown> = {}): void => {
      if (!history || !op) return;
      history.record({ type, f: op.f, process: client.id, op: op.n, time: Date.now(), value });
      op = null;
    };
    try {
      if (read && client.lastOrder?.id && r < 0.5) {
        const order = client.lastOrder;
        invoke('read-order', { requestId: order.requestId, orderId: order.id });
        const res = await send(client, 'GET', `/orders/${order.id}`);
        if (res.status >= 500) {
          complete('fail', { status: res.status });
          return fail('read own order', res.status, String(res.json?.error ?? ''), res.site);
        }
        ledger.readYourWrites.checked++;
        const found = res.status === 200 && res.json?.request_id === order.requestId;
        complete('ok', { found });
        if (!found) {
          ledger.readYourWrites.violations.push({
            clientId: client.id,
            orderId: String(order.id),
            reason: `status ${res.status}`,
          });
        }
      } else if (read && history && r >= 0.97) {
        invoke('read-total', {});
        const res = await send(client, 'GET', '/accounts/total');
        if (res.status === 200) complete('ok', { total: res.json?.total, negative: res.json?.negative });
        else complete('fail', { status: res.status });
        if (res.status >= 500) fail('GET /accounts/total', res.status, String(res.json?.error ?? ''), res.site);
      } else if (read) {
        const path =
          r < 0.8
            ? `/accounts/${1 + Math.floor(Math.random() * options.accounts)}`
            : `/orders?clientId=${client.id}&limit=5`;
        const res = await send(client, 'GET', path);
        if (res.status >= 500) fail(`GET ${path}`, res.status, String(res.json?.error ?? ''), res.site);
      } else if (r < 0.6) {
        const write: OrderWrite = {
          requestId: randomUUID(),
          clientId: client.id,
          item: items[Math.floor(Math.random() * items.length)] as string,
          quantity: 1 + Math.floor(Math.random() * 5),
          details: { source: 'load', n: issued, tags: ['a', 'ü'], nested: { ok: true } },
          note: Math.random() < 0.2 ? null : `note — ${issued}`,
        };
        ledger.orders.set(write.requestId, { write, outcome: 'info' });
        invoke('order', { requestId: write.requestId });
        const res = await send(client, 'POST', '/orders', write);
        if (res.status === 200 || res.status === 201) {
          write.id = String(res.json?.id);
          ledger.orders.set(write.requestId, { write, outcome: 'ok' });
          complete('ok', { id: write.id });
          client.lastOrder = write;
        } else if (res.status >= 500) {
          // 503 from a fenced database is a definite refusal; other 5xx are unknown.
          ledger.orders.set(write.requestId, { write, outcome: res.status === 503 ? 'fail' : 'info' });
          complete(res.status === 503 ? 'fail' : 'info', { status: res.status });
          fail('create order', res.status, String(res.json?.error ?? ''), res.site);
        } else {
          ledger.orders.set(write.requestId, { write, outcome: 'fail' });
          complete('fail', { status: res.status });
        }
      } else if (r < 0.7) {
        // A client event: appended with no uniqueness guard, so a write applied twice is visible.
        const write = { requestId: randomUUID(), clientId: client.id, kind: 'viewed' };
        ledger.events.set(write.requestId, { write, outcome: 'info' });
        invoke('event', { requestId: write.requestId });
        const res = await send(client, 'POST', '/events', write);
        const outcome = res.status === 201 ? 'ok' : res.status < 500 || res.status === 503 ? 'fail' : 'info';
        ledger.events.set(write.requestId, { write, outcome });
        complete(outcome, outcome === 'ok' ? { id: String(res.json?.id) } : { status: res.status });
        if (res.status >= 500) fail('client event', res.status, String(res.json?.error ?? ''), res.site);
      } else {
        const from = 1 + Math.floor(Math.random() * options.accounts);
        let to = 1 + Math.floor(Math.random() * options.accounts);
        if (to === from) to = (to % options.accounts) + 1;
        const write = { requestId: randomUUID(), from, to, amount: 1 + Math.floor(Math.random() * 20) };
        ledger.transfers.set(write.requestId, { write, outcome: 'info' });
        invoke('transfer', { requestId: write.requestId, from, to, amount: write.amount });
        const res = await send(client, 'POST', '/transfers', write);
        if (res.status === 201 || res.status === 200) {
          ledger.transfers.set(write.requestId, { write: { ...write, id: String(res.json?.id) }, outcome: 'ok' });
          complete('ok', { id: String(res.json?.id) });
        } else if (res.status === 409) {
          ledger.transfers.set(write.requestId, { write, outcome: 'fail' });
          complete('fail', { status: 409 });
        } else {
          ledger.transfers.set(write.requestId, { write, outcome: res.status === 503 ? 'fail' : 'info' });
          complete(res.status === 503 || res.status < 500 ? 'fail' : 'info', { status: res.status });
          if (res.status >= 500) fail('transfer', res.status, String(res.json?.error ?? ''), res.site);
        }
      }
    } catch (error) {
      complete(read ? 'fail' : 'info');
      fail(read ? 'read' : 'write', null, error instanceof Error ? error.message : String(error));
    } finally {
      latency.record(stage, read ? 'reads' : 'writes', sentAt, Date.now());
      if (!read) latency.writeEnded(token);
    }
  };

  const finish = async (): Promise<LoadStats> => {
    clearInterval(ticker);
    const bound = new Promise((resolve) => setTimeout(resolve, timeout + 1000).unref());
    await Promise.race([Promise.allSettled([...pending]), bound]);
    await http.close().catch(() => undefined);
    resolveDone(stats);
    return stats;
  };

  let lastTick = started;
  const ticker = setInterval(() => {
    if (stopped) return;
    const now = Date.now();
    const late = now - lastTick;
    lastTick = now;
    const afterStop = late > CLIENT_STOP_MS;
    if (afterStop) {
      stats.stops.count++;
      stats.stops.totalMs += late;
      stats.stops.longestMs = Math.max(stats.stops.longestMs, late);
      latency.stopped(late);
    }
    const elapsed = now - started;
    if (issued >= options.maxRequests || elapsed >= options.maxDurationMs) {
      stopped = true;
      void finish();
      return;
    }
    const due = Math.min(options.maxRequests, Math.floor(dueBy(elapsed, options.rate, options.rampMs ?? 0))) - issued;
    for (let i = 0; i < due; i++) {
      issued++;
      stats.offered++;
      if (inFlight >= maxInFlight) {
        stats.notSent++;
        if (afterStop) stats.stops.notSent++;
        latency.notSent();
        continue;
      }
      inFlight++;
      const p = operation().finally(() => {
        inFlight--;
        pending.delete(p);
      });
      pending.add(p);
    }
  }, 5);

  return {
    ledger,
    latency,
    setStage: (stage) => latency.setStage(stage),
    stats: () => stats,
    done,
    async stop() {
      if (!stopped) {
        stopped = true;
        return finish();
      }
      return done;
    },
  };
}

/**
 * A tick of the load's clock (every 5 ms) this late means the clients were stopped (see
 * `LoadStats.stops`). Timers on a busy two-core machine run 10-50 ms late; a host's snapshot of the
 * machine stopped everything for about 5 s.
 */
export const CLIENT_STOP_MS = 200;

/** Stats of a load that has sent nothing yet. */
export function emptyLoadStats(): LoadStats {
  return {
    offered: 0,
    total: 0,
    failed: 0,
    failedWithoutAnswer: 0,
    notSent: 0,
    stops: { count: 0, totalMs: 0, longestMs: 0, notSent: 0 },
    reads: 0,
    writes: 0,
    bySite: {},
    failures: [],
    first5xxBySite: {},
  };
}

/** Requests due `elapsedMs` after the start at `rate` per second, rising linearly over `rampMs` first. */
export function dueBy(elapsedMs: number, rate: number, rampMs: number): number {
  if (rampMs <= 0) return (elapsedMs / 1000) * rate;
  if (elapsedMs < rampMs) return ((elapsedMs * elapsedMs) / (2 * rampMs) / 1000) * rate;
  return ((elapsedMs - rampMs / 2) / 1000) * rate;
}

/**
 * The load's own bound (it is stopped after the bake; this only ends a demo that never gets
 * there): 15 minutes, or 5 minutes per million orders when that is longer. A run through the bake
 * took about 100 s per million orders on this 2-core machine at 1,000 requests/s (17 minutes at
 * 10 M); with a fixed 15 minutes the 10 M run's clients stopped in verification, and the shift's
 * gate then waited for traffic that never came.
 */
export function loadBoundMs(orders: number): number {
  return Math.max(15 * 60_000, Math.ceil(orders / 1_000_000) * 5 * 60_000);
}
