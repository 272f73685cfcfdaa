/**
 * A pacer for one engine step's background work on one database (`spec.data[].throttle`): the
 * router's latency from the run's `traffic-sample` events, the source's load from a session of its
 * own (`handoff-throttle`, left out of the count), and, where asked, replication lag by heartbeat
 * marker. Sessions and listeners end with the step.
 */
import type pg from 'pg';
import { isHandoffError } from '../../common/errors.js';
import type { StepContext } from '../data-plane.js';
import { connect } from '../postgres/connect.js';
import { awaitMarker, writeMarker } from '../postgres/marker.js';
import type { PgEnv } from '../postgres/session.js';
import { TRAFFIC_BASELINE_KEY, type TrafficBaseline } from './baseline.js';
import { throttleOptionsFromPlan } from './from-plan.js';
import { createPacer, type Pacer, type ThrottleSignals } from './pacer.js';
import { activeBackendsSignal, eventLatencySignal, querySignal } from './signals.js';

export interface StepPacerOptions {
  /** What is paced, named in events. */
  work: string;
  /** Measure replication lag by heartbeat (not during the initial copy, when it means nothing yet). */
  lag: boolean;
  /** Largest chunk, in rows (default `verify.chunkRows`). */
  maxChunkRows?: number;
  /** A target time per chunk shorter than the plan's `chunkTargetTime` (ms). */
  chunkTargetMs?: number;
}

/** Runs `fn` with a pacer (undefined when the plan turns the throttle off). */
export async function withStepPacer<T>(
  ctx: StepContext,
  env: PgEnv,
  options: StepPacerOptions,
  fn: (pacer: Pacer | undefined) => Promise<T>,
): Promise<T> {
  const spec = env.entry.throttle;
  if (!spec?.enabled) return await fn(undefined);
  const database = env.entry.database;
  const open = (site: 'source' | 'target'): Promise<pg.Client> =>
    connect(ctx.secrets.databaseUrl(site, database), {
      name: `${site} database ${database}`,
      redactor: ctx.redactor,
      applicationName: 'handoff-throttle',
    });
  const sessions: pg.Client[] = [];
  const latency = eventLatencySignal(ctx.events);
  try {
    const source = await open('source');
    sessions.push(source);
    const load = spec.maxSourceLoad;
    const signals: ThrottleSignals = {
      routerP99Ms: latency.read,
      sourceLoad: 'query' in load ? querySignal(source, load.query) : activeBackendsSignal(source),
    };
    const throttle = throttleOptionsFromPlan(spec, options.maxChunkRows ?? env.entry.verify.chunkRows);
    if (options.chunkTargetMs !== undefined)
      throttle.limits.chunkTargetMs = Math.min(throttle.limits.chunkTargetMs, options.chunkTargetMs);
    if (options.lag) {
      const target = await open('target');
      sessions.push(target);
      signals.replicationLagMs = markerLagSignal(ctx, env, source, target, 2 * throttle.limits.maxReplicationLagMs);
    }
    // The run's baseline from preflight, when it measured one (else the p99 when the work starts).
    const baselineP99Ms = ctx.state.get<TrafficBaseline>(TRAFFIC_BASELINE_KEY)?.p99Ms ?? null;
    const pacer = createPacer(
      { ...throttle, work: options.work, subject: database, baselineP99Ms },
      { signals, events: ctx.events, warn: (message, fields) => ctx.logger.warn(message, { database, ...fields }) },
    );
    return await fn(pacer);
  } finally {
    latency.close();
    await Promise.all(sessions.map((session) => session.end().catch(() => undefined)));
  }
}

/** Lag by heartbeat: a marker written on the source, the time until the target shows it (at most `boundMs`). */
function markerLagSignal(
  ctx: StepContext,
  env: PgEnv,
  source: pg.Client,
  target: pg.Client,
  boundMs: number,
): () => Promise<number | null> {
  return async () => {
    const names = env.names(ctx);
    const seq = await writeMarker(source, names, 'forward');
    try {
      return await awaitMarker(target, names, 'forward', seq, {
        timeoutMs: boundMs,
        pollMs: 50,
        signal: ctx.signal,
        where: 'target',
      });
    } catch (error) {
      if (isHandoffError(error) && error.code === 'timeout') return boundMs;
      throw error;
    }
  };
}
