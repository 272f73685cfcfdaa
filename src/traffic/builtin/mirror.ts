/**
 * Shadow reads in the built-in router: while a shadow is on, a share of the matched reads that the
 * source answers are copied to the target once the client has its answer, and the two answers are
 * compared (src/shadow/compare.ts); the books are kept in a ShadowLedger. The client is always
 * answered by the source and never waits for any of this: the source's answer is captured as it
 * streams past (bounded per answer and in total), and every limit reached drops the copy and counts
 * it. Writes are never copied (replication already feeds the target). Mirrored requests carry
 * `X-Handoff-Shadow: 1`.
 *
 * Lag: with `lagAware`, a difference counts only if the target was known, when the copy was sent, to
 * have applied the source's changes up to the moment the source answered (the watermark the engine
 * reports from its heartbeat marker). Otherwise it is stale, kept (bounded by the byte budget), and
 * the target is read once more when the watermark passes; if it never does within `staleWaitMs`, it
 * stays stale and is not counted.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Pool } from 'undici';
import { z } from 'zod';
import { InputError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { compareAnswers, type Answer } from '../../shadow/compare.js';
import { endpointOf } from '../../shadow/endpoint.js';
import { evidenceBody, evidencePath } from '../../shadow/evidence.js';
import { createIgnoreList, type IgnoreList } from '../../shadow/json-diff.js';
import type { ShadowStatus } from '../../shadow/control.js';
import { createShadowLedger, type DropReason, type ShadowLedger } from '../../shadow/ledger.js';
import { shadowSettingsSchema, type ShadowSettings } from '../../shadow/settings.js';
import { describeZodError, type RequestClass } from '../routes.js';
import { requestHeaders } from './headers.js';

export type { ShadowStatus } from '../../shadow/control.js';

export interface Mirror {
  /** False when no shadow is on: the proxy then does nothing else for it. */
  readonly active: boolean;
  /** The proxy's one call for a request it sends to `site`; returns at once. */
  offer(req: IncomingMessage, res: ServerResponse, cls: RequestClass, site: string): void;
  start(input: unknown): ShadowStatus;
  /** Stops copying, waits (bounded) for copies in flight and stale re-reads, and reports. */
  stop(): Promise<ShadowStatus>;
  watermark(input: unknown): ShadowStatus;
  status(after?: number): ShadowStatus;
  close(): Promise<void>;
}

export interface MirrorOptions {
  sites: Record<string, string>;
  /** The site that answers clients (default `source`) and the one copies go to (default `target`). */
  from?: string;
  to?: string;
}

const watermarkSchema = z.strictObject({
  appliedThrough: z.number().int().min(0, { error: 'appliedThrough is milliseconds since 1970' }),
});

interface Captured {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  chunks: Buffer[];
  size: number;
  dropped: DropReason | null;
}

interface Task {
  method: string;
  url: string;
  headers: Record<string, string | string[]>;
  endpoint: string;
  bytes: number;
  source: Answer;
  sourceAt: number;
}

interface StaleEntry {
  task: Task;
  deadline: number;
}

function bodyLength(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function lowerHeaders(headers: unknown): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {};
  if (headers === null || typeof headers !== 'object') return out;
  for (const [k, v] of Object.entries(headers as Record<string, unknown>)) {
    if (typeof v === 'string' || Array.isArray(v)) out[k.toLowerCase()] = v as string | string[];
    else if (typeof v === 'number') out[k.toLowerCase()] = String(v);
  }
  return out;
}

export function createMirror(options: MirrorOptions, deps: { logger: Logger; now?: () => number }): Mirror {
  const now = deps.now ?? Date.now;
  const from = options.from ?? 'source';
  const to = options.to ?? 'target';
  let settings: ShadowSettings | null = null;
  let ignore: IgnoreList = createIgnoreList([]);
  let ledger: ShadowLedger = createShadowLedger();
  let since: string | null = null;
  let watermark: number | null = null;
  let inFlight = 0;
  let queuedBytes = 0;
  let stale: StaleEntry[] = [];
  let pools: { from: Pool; to: Pool } | null = null;
  let sweep: NodeJS.Timeout | null = null;
  const idle = new Set<() => void>();

  const release = (bytes: number): void => {
    queuedBytes -= bytes;
  };
  const doneOne = (): void => {
    inFlight--;
    if (inFlight === 0) for (const resolve of [...idle]) resolve();
  };

  const makePool = (site: string, s: ShadowSettings): Pool => {
    const url = new URL(options.sites[site] as string);
    return new Pool(url.origin, {
      connections: Math.min(s.concurrency, 128),
      pipelining: 1,
      keepAliveTimeout: 4000,
      connect: { timeout: Math.min(s.timeoutMs, 5000) },
      headersTimeout: s.timeoutMs,
      bodyTimeout: s.timeoutMs,
    });
  };
  const prefixOf = (site: string): string => {
    const path = new URL(options.sites[site] as string).pathname;
    return path === '/' ? '' : path.replace(/\/$/, '');
  };

  /** One read of `site`; a failure or an answer over the body limit gives status 0 (null when over the limit). */
  const read = async (site: string, pool: Pool, task: Task, s: ShadowSettings): Promise<Answer | null> => {
    const headers: Record<string, string | string[]> = { ...task.headers, 'x-handoff-shadow': '1' };
    if (s.hostSuffix && site === to) {
      const host = new URL(options.sites[site] as string);
      headers.host = `${host.hostname}-shadow${host.port === '' ? '' : `:${host.port}`}`;
    }
    try {
      const response = await pool.request({
        path: prefixOf(site) + task.url,
        method: task.method as 'GET',
        headers,
        signal: AbortSignal.timeout(s.timeoutMs),
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response.body) {
        const buf = chunk as Buffer;
        size += buf.length;
        if (size > s.bodyBytes) {
          response.body.destroy();
          return null;
        }
        chunks.push(buf);
      }
      return { status: response.statusCode, headers: lowerHeaders(response.headers), body: Buffer.concat(chunks) };
    } catch {
      return { status: 0, headers: {}, body: Buffer.alloc(0) };
    }
  };

  const judge = (task: Task, target: Answer, s: ShadowSettings, reread: boolean): void => {
    const paths = compareAnswers(task.source, target, { headers: s.headers, ignore });
    ledger.record(task.endpoint, paths, () => {
      const json = (a: Answer): boolean => /json/i.test(String(a.headers['content-type'] ?? ''));
      return {
        at: new Date(task.sourceAt).toISOString(),
        method: task.method,
        path: evidencePath(task.url),
        endpoint: task.endpoint,
        sourceStatus: task.source.status,
        targetStatus: target.status,
        source: evidenceBody(task.source.body, json(task.source), s.evidenceBytes),
        target: evidenceBody(target.body, json(target), s.evidenceBytes),
        reread,
      };
    });
  };

  const fresh = (sourceAt: number): boolean => watermark !== null && watermark >= sourceAt;

  const run = async (task: Task, s: ShadowSettings, p: { from: Pool; to: Pool }): Promise<void> => {
    const knownFresh = !s.lagAware || fresh(task.sourceAt);
    const noise = s.noiseShare > 0 && Math.random() < s.noiseShare;
    ledger.countMirrored();
    const [target, again] = await Promise.all([
      read(to, p.to, task, s),
      noise ? read(from, p.from, task, s) : Promise.resolve(null),
    ]);
    if (again !== null && again.status !== 0) {
      ledger.noiseSample(task.endpoint, compareAnswers(task.source, again, { headers: s.headers, ignore }));
    }
    if (target === null) {
      ledger.drop('body');
      release(task.bytes);
      return;
    }
    if (!knownFresh && compareAnswers(task.source, target, { headers: s.headers, ignore, limit: 1 }).length > 0) {
      stale.push({ task, deadline: now() + s.staleWaitMs });
      return; // its bytes stay counted until it is settled
    }
    judge(task, target, s, false);
    release(task.bytes);
  };

  const settleStale = (s: ShadowSettings, p: { from: Pool; to: Pool }, all: boolean): Promise<void>[] => {
    const t = now();
    const keep: StaleEntry[] = [];
    const work: Promise<void>[] = [];
    for (const entry of stale) {
      if (fresh(entry.task.sourceAt)) {
        ledger.countReread();
        work.push(
          read(to, p.to, entry.task, s).then((target) => {
            if (target === null) ledger.drop('body');
            else judge(entry.task, target, s, true);
            release(entry.task.bytes);
          }),
        );
      } else if (all || t >= entry.deadline) {
        ledger.stale(entry.task.endpoint);
        release(entry.task.bytes);
      } else keep.push(entry);
    }
    stale = keep;
    return work;
  };

  const capture = (res: ServerResponse, s: ShadowSettings): Captured => {
    const c: Captured = { status: 0, headers: {}, chunks: [], size: 0, dropped: null };
    const add = (chunk: unknown): void => {
      if (c.dropped !== null || chunk === undefined || chunk === null || typeof chunk === 'function') return;
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.isBuffer(chunk) ? chunk : null;
      if (buf === null || buf.length === 0) return;
      c.size += buf.length;
      queuedBytes += buf.length;
      if (c.size > s.bodyBytes || queuedBytes > s.queuedBytes) {
        c.dropped = c.size > s.bodyBytes ? 'body' : 'bytes';
        queuedBytes -= c.size;
        c.chunks = [];
        return;
      }
      c.chunks.push(buf);
    };
    const writeHead = res.writeHead;
    const write = res.write;
    const end = res.end;
    res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
      c.status = Number(args[0]);
      const last = args[args.length - 1];
      if (typeof last === 'object' && last !== null) c.headers = lowerHeaders(last);
      return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
    } as typeof res.writeHead;
    res.write = function (this: ServerResponse, ...args: unknown[]) {
      add(args[0]);
      return (write as (...a: unknown[]) => boolean).apply(this, args);
    } as typeof res.write;
    res.end = function (this: ServerResponse, ...args: unknown[]) {
      add(args[0]);
      return (end as (...a: unknown[]) => ServerResponse).apply(this, args);
    } as typeof res.end;
    return c;
  };

  const mirror: Mirror = {
    active: false,
    offer(req, res, cls, site) {
      const s = settings;
      const p = pools;
      if (s === null || p === null || cls !== 'reads' || site !== from) return;
      const method = req.method ?? 'GET';
      if (!(s.methods as string[]).includes(method)) return;
      const url = req.url ?? '/';
      if (s.paths.length > 0 && !s.paths.some((prefix) => url.startsWith(prefix))) return;
      if (s.exclude.some((prefix) => url.startsWith(prefix))) return;
      ledger.countMatched();
      if (Math.random() >= s.share) return;
      if (bodyLength(req)) return; // a read with a body is not copied
      if (inFlight >= s.concurrency) {
        ledger.drop('concurrency');
        return;
      }
      inFlight++;
      const headers = requestHeaders(req);
      const c = capture(res, s);
      let settled = false;
      const finish = (completed: boolean): void => {
        if (settled) return;
        settled = true;
        if (c.dropped !== null || !completed || c.status === 0 || c.status >= 500) {
          if (c.dropped === null) queuedBytes -= c.size;
          ledger.drop(c.dropped ?? 'error');
          doneOne();
          return;
        }
        const task: Task = {
          method,
          url,
          headers,
          endpoint: endpointOf(method, url),
          bytes: c.size,
          source: { status: c.status, headers: c.headers, body: Buffer.concat(c.chunks) },
          sourceAt: now(),
        };
        run(task, s, p).then(doneOne, (error: unknown) => {
          deps.logger.warn('shadow comparison failed', { error: String(error) });
          doneOne();
        });
      };
      res.once('finish', () => finish(true));
      res.once('close', () => finish(res.writableFinished));
    },
    start(input) {
      const parsed = shadowSettingsSchema.safeParse(input);
      if (!parsed.success) throw new InputError(`shadow: ${describeZodError(parsed.error)}`);
      if (options.sites[from] === undefined || options.sites[to] === undefined) {
        throw new InputError(
          `shadow needs the sites "${from}" and "${to}"; this router has ${Object.keys(options.sites).join(', ')}`,
        );
      }
      const s = parsed.data;
      const old = pools;
      pools = { from: makePool(from, s), to: makePool(to, s) };
      if (old !== null) void Promise.all([old.from.close(), old.to.close()]).catch(() => undefined);
      settings = s;
      ignore = createIgnoreList(s.ignore);
      ledger = createShadowLedger();
      stale = [];
      queuedBytes = 0;
      watermark = null;
      since = new Date(now()).toISOString();
      (mirror as { active: boolean }).active = true;
      if (sweep === null) {
        sweep = setInterval(() => {
          if (settings !== null && pools !== null) void Promise.all(settleStale(settings, pools, false));
        }, 250);
        sweep.unref();
      }
      deps.logger.info('shadow started', { share: s.share, lagAware: s.lagAware });
      return mirror.status();
    },
    async stop() {
      (mirror as { active: boolean }).active = false;
      const s = settings;
      const p = pools;
      settings = null;
      if (s !== null && p !== null) {
        const bound = s.timeoutMs + 1000;
        if (inFlight > 0) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(done, bound);
            function done(): void {
              clearTimeout(timer);
              idle.delete(done);
              resolve();
            }
            idle.add(done);
          });
        }
        await Promise.all(settleStale(s, p, true));
      }
      if (sweep !== null) clearInterval(sweep);
      sweep = null;
      return mirror.status();
    },
    watermark(input) {
      const parsed = watermarkSchema.safeParse(input);
      if (!parsed.success) throw new InputError(`watermark: ${describeZodError(parsed.error)}`);
      watermark = Math.max(watermark ?? 0, parsed.data.appliedThrough);
      if (settings !== null && pools !== null) void Promise.all(settleStale(settings, pools, false));
      return mirror.status();
    },
    status(after = 0) {
      return {
        active: mirror.active,
        since,
        watermark: watermark === null ? null : new Date(watermark).toISOString(),
        pendingStale: stale.length,
        inFlight,
        ...ledger.report(after),
      };
    },
    async close() {
      (mirror as { active: boolean }).active = false;
      settings = null;
      if (sweep !== null) clearInterval(sweep);
      sweep = null;
      const p = pools;
      pools = null;
      if (p !== null) await Promise.all([p.from.destroy(), p.to.destroy()]).catch(() => undefined);
    },
  };
  return mirror;
}
