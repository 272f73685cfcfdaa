/**
 * Shadow reads in the built-in router: while a shadow is on, a share of the matched reads that the
 * source answers are copied to the target once the client has its answer, and the two answers are
 * compared (src/shadow/compare.ts); the books are kept in a ShadowLedger. The client is always
 * answered by the source and never waits for any of this: the source's answer is captured as it
 * streams past (mirror-capture.ts, bounded per answer and in total), and every limit reached drops
 * the copy and counts it. Writes are never copied (replication already feeds the target). Mirrored
 * requests carry `X-Handoff-Shadow: 1` (mirror-read.ts).
 *
 * Lag (`lagAware`): the engine reports a watermark, the time up to which the target is known (by a
 * heartbeat through replication) to have applied the source's changes. A copy whose source answered
 * after the watermark is stale: it waits, bytes still counted, and is read from the target once the
 * watermark passes its answer time; one that waits longer than `staleWaitMs` stays stale and is not
 * counted. A difference is then confirmed by reading the source again: fields that changed on the
 * source meanwhile, and the whole record holding one at which the target shows a third value (a
 * state in between), are noise for that request, not a target defect (requestNoise in compare.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { InputError } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { compareAnswers, requestNoise, type Answer } from '../../shadow/compare.js';
import type { ShadowStatus } from '../../shadow/control.js';
import { endpointOf } from '../../shadow/endpoint.js';
import { evidenceBody, evidencePath } from '../../shadow/evidence.js';
import { createIgnoreList, type IgnoreList } from '../../shadow/json-diff.js';
import { createShadowLedger, type ShadowLedger } from '../../shadow/ledger.js';
import { shadowSettingsSchema, type ShadowSettings } from '../../shadow/settings.js';
import { describeZodError, type RequestClass } from '../routes.js';
import { requestHeaders } from './headers.js';
import { captureResponse, type ByteBudget } from './mirror-capture.js';
import { createShadowSite, shadowRead, type ShadowRequest, type ShadowSite } from './mirror-read.js';

export type { ShadowStatus } from '../../shadow/control.js';

export interface Mirror {
  /** False when no shadow is on: the proxy then does nothing else for it. */
  readonly active: boolean;
  /** The proxy's one call for a request it sends to `site`; returns at once. */
  offer(req: IncomingMessage, res: ServerResponse, cls: RequestClass, site: string): void;
  start(input: unknown): ShadowStatus;
  /** Stops copying, waits (bounded) for copies in flight and stale ones the watermark clears, and reports. */
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

interface Task extends ShadowRequest {
  endpoint: string;
  bytes: number;
  source: Answer;
  sourceAt: number;
  deadline: number;
}

interface Session {
  settings: ShadowSettings;
  ignore: IgnoreList;
  ledger: ShadowLedger;
  from: ShadowSite;
  to: ShadowSite;
  budget: ByteBudget;
  /** Copies waiting for the watermark, oldest first. */
  waiting: Task[];
  /** Captures and comparisons under way (bounded by `concurrency`). */
  busy: number;
}

function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

const isJson = (a: Answer): boolean => /json/i.test(String(a.headers['content-type'] ?? ''));

export function createMirror(options: MirrorOptions, deps: { logger: Logger; now?: () => number }): Mirror {
  const now = deps.now ?? Date.now;
  const from = options.from ?? 'source';
  const to = options.to ?? 'target';
  let session: Session | null = null;
  let last: ShadowLedger = createShadowLedger();
  let since: string | null = null;
  let watermark: number | null = null;
  let sweep: NodeJS.Timeout | null = null;
  const idle = new Set<() => void>();

  const done = (s: Session, bytes: number): void => {
    s.budget.used -= bytes;
    s.busy--;
    if (s.busy === 0) for (const resolve of [...idle]) resolve();
    pump(s, false);
  };
  const read = (s: Session, site: ShadowSite, task: Task): Promise<Answer | null> =>
    shadowRead(site, task, {
      ...s.settings,
      hostSuffix: s.settings.hostSuffix && site === s.to,
    });

  const compare = async (s: Session, task: Task): Promise<void> => {
    const opts = { headers: s.settings.headers, ignore: s.ignore };
    s.ledger.countMirrored();
    const sample = s.settings.noiseShare > 0 && Math.random() < s.settings.noiseShare;
    const [target, again] = await Promise.all([read(s, s.to, task), sample ? read(s, s.from, task) : null]);
    if (again !== null && again.status !== 0)
      s.ledger.noiseSample(task.endpoint, compareAnswers(task.source, again, opts));
    if (target === null) {
      s.ledger.drop('body');
      return;
    }
    if (target.status === 0) {
      // The target did not answer (refused, reset, timed out): there is no answer to compare. The
      // copy is dropped and counted; an answer it gives, 5xx included, is compared.
      s.ledger.drop('error');
      return;
    }
    const paths = compareAnswers(task.source, target, opts);
    let changed: string[] = [];
    if (paths.length > 0 && s.settings.lagAware) {
      // Read after the target answered: what the source changed meanwhile is this request's noise.
      const confirm = await read(s, s.from, task);
      if (confirm === null || confirm.status === 0) {
        // Lag may explain this difference and nothing can tell: neither counted nor compared.
        s.ledger.drop(confirm === null ? 'body' : 'error');
        return;
      }
      changed = requestNoise(task.source, confirm, target, paths, opts);
    }
    s.ledger.record(
      task.endpoint,
      paths,
      () => ({
        at: new Date(task.sourceAt).toISOString(),
        method: task.method,
        path: evidencePath(task.url),
        endpoint: task.endpoint,
        sourceStatus: task.source.status,
        targetStatus: target.status,
        source: evidenceBody(task.source.body, isJson(task.source), s.settings.evidenceBytes),
        target: evidenceBody(target.body, isJson(target), s.settings.evidenceBytes),
        reread: s.settings.lagAware,
      }),
      changed,
    );
  };

  const launch = (s: Session, task: Task): void => {
    s.busy++;
    compare(s, task).then(
      () => done(s, task.bytes),
      (error: unknown) => {
        deps.logger.warn('shadow comparison failed', { error: String(error) });
        done(s, task.bytes);
      },
    );
  };

  /** Starts the waiting copies the watermark has cleared (as concurrency allows); expires the rest. */
  function pump(s: Session, final: boolean): void {
    const t = now();
    const keep: Task[] = [];
    for (const task of s.waiting) {
      if (watermark !== null && watermark >= task.sourceAt && s.busy < s.settings.concurrency) {
        s.ledger.countReread();
        launch(s, task);
      } else if (final || t >= task.deadline) {
        s.ledger.stale(task.endpoint);
        s.budget.used -= task.bytes;
      } else keep.push(task);
    }
    s.waiting = keep;
  }

  const mirror: Mirror = {
    active: false,
    offer(req, res, cls, site) {
      const s = session;
      if (s === null || cls !== 'reads' || site !== from) return;
      const { settings } = s;
      const method = req.method ?? 'GET';
      if (!(settings.methods as string[]).includes(method)) return;
      const url = req.url ?? '/';
      if (settings.paths.length > 0 && !settings.paths.some((prefix) => url.startsWith(prefix))) return;
      if (settings.exclude.some((prefix) => url.startsWith(prefix))) return;
      s.ledger.countMatched();
      if (Math.random() >= settings.share || hasBody(req)) return; // a read with a body is not copied
      if (s.busy >= settings.concurrency) {
        s.ledger.drop('concurrency');
        return;
      }
      s.busy++;
      const headers = requestHeaders(req);
      const c = captureResponse(res, settings.bodyBytes, s.budget);
      let settled = false;
      const finish = (completed: boolean): void => {
        if (settled) return;
        settled = true;
        if (c.dropped !== null || !completed || c.status === 0 || c.status >= 500) {
          s.ledger.drop(c.dropped ?? 'error'); // over a limit, cut short, or the source failed
          done(s, c.dropped === null ? c.size : 0);
          return;
        }
        const sourceAt = now();
        const task: Task = {
          method,
          url,
          headers,
          endpoint: endpointOf(method, url),
          bytes: c.size,
          source: { status: c.status, headers: c.headers, body: Buffer.concat(c.chunks) },
          sourceAt,
          deadline: sourceAt + settings.staleWaitMs,
        };
        if (settings.lagAware && (watermark === null || watermark < sourceAt)) {
          s.waiting.push(task); // read once the target has caught up with this answer
          s.busy--;
          return;
        }
        s.busy--;
        launch(s, task);
      };
      res.once('finish', () => finish(true));
      res.once('close', () => finish(res.writableFinished));
    },
    start(input) {
      const parsed = shadowSettingsSchema.safeParse(input);
      if (!parsed.success) throw new InputError(`shadow: ${describeZodError(parsed.error)}`);
      const fromUrl = options.sites[from];
      const toUrl = options.sites[to];
      if (fromUrl === undefined || toUrl === undefined) {
        throw new InputError(
          `shadow needs the sites "${from}" and "${to}"; this router has ${Object.keys(options.sites).join(', ')}`,
        );
      }
      const settings = parsed.data;
      const old = session;
      if (old !== null) void Promise.all([old.from.pool.close(), old.to.pool.close()]).catch(() => undefined);
      last = createShadowLedger();
      session = {
        settings,
        ignore: createIgnoreList(settings.ignore),
        ledger: last,
        from: createShadowSite(fromUrl, settings),
        to: createShadowSite(toUrl, settings),
        budget: { used: 0, limit: settings.queuedBytes },
        waiting: [],
        busy: 0,
      };
      watermark = null;
      since = new Date(now()).toISOString();
      (mirror as { active: boolean }).active = true;
      if (sweep === null) {
        sweep = setInterval(() => session !== null && pump(session, false), 250);
        sweep.unref();
      }
      deps.logger.info('shadow started', { share: settings.share, lagAware: settings.lagAware });
      return mirror.status();
    },
    async stop() {
      (mirror as { active: boolean }).active = false;
      const s = session;
      session = null;
      if (sweep !== null) clearInterval(sweep);
      sweep = null;
      if (s === null) return mirror.status();
      const deadline = now() + s.settings.timeoutMs * 2 + 1000;
      pump(s, false);
      // Copies in flight finish (bounded); waiting ones the watermark has cleared are read too.
      while ((s.busy > 0 || s.waiting.some((t) => watermark !== null && watermark >= t.sourceAt)) && now() < deadline) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(finish, 100);
          function finish(): void {
            clearTimeout(timer);
            idle.delete(finish);
            resolve();
          }
          idle.add(finish);
        });
        pump(s, false);
      }
      pump(s, true);
      void Promise.all([s.from.pool.close(), s.to.pool.close()]).catch(() => undefined);
      return { ...mirror.status(), inFlight: s.busy };
    },
    watermark(input) {
      const parsed = watermarkSchema.safeParse(input);
      if (!parsed.success) throw new InputError(`watermark: ${describeZodError(parsed.error)}`);
      watermark = Math.max(watermark ?? 0, parsed.data.appliedThrough);
      if (session !== null) pump(session, false);
      return mirror.status();
    },
    status(after = 0) {
      return {
        active: mirror.active,
        since,
        watermark: watermark === null ? null : new Date(watermark).toISOString(),
        pendingStale: session?.waiting.length ?? 0,
        inFlight: session?.busy ?? 0,
        ...last.report(after),
      };
    },
    async close() {
      (mirror as { active: boolean }).active = false;
      if (sweep !== null) clearInterval(sweep);
      sweep = null;
      const s = session;
      session = null;
      if (s !== null) await Promise.all([s.from.pool.destroy(), s.to.pool.destroy()]).catch(() => undefined);
    },
  };
  return mirror;
}
