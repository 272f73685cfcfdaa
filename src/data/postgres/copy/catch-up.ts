/**
 * The chunked copy's backlog, applied under the throttle. The subscription is made disabled at the
 * copy's end, on the slot whose snapshot the copy read: everything written on the source during the
 * copy waits in the slot (95 s of the demo's writes at 1 M orders, about 38,000 transactions; many
 * minutes of them at 10 M). Enabled at once, the source's walsender decodes it and the target's
 * apply worker applies it as fast as both go, a burst beside the service that nothing paused (at
 * 1 M orders the clients' p99 229-573 ms for three seconds; at 10 M the router's p99 670 ms for
 * fifteen). Here the subscription is enabled when the pacer allows, disabled for the length of a
 * pause (its workers stop at once; the slot keeps its place) and, when latency breaches have
 * lowered the work's share of the time, rested between slices of `checkInterval`. Done when the
 * target shows a heartbeat marker written on the source as this began.
 *
 * A subscriber before PostgreSQL 16 starts a worker again at most every `wal_retrieve_retry_interval`
 * (5 s by default) after it stopped, so there the rests and the pauses last at least that long.
 */
import { AdapterError, TimeoutError } from '../../../common/errors.js';
import { sleep } from '../../../common/net.js';
import { parseDuration } from '../../../common/duration.js';
import type { StepContext } from '../../data-plane.js';
import { withStepPacer } from '../../throttle/step-pacer.js';
import { markerSeen, writeMarker } from '../marker.js';
import { withSites, type PgEnv } from '../session.js';
import { setSubscriptionEnabled, subscriptionProgress } from '../subscription.js';

/** Apply errors (since this began) after which the catch-up fails instead of waiting for its bound. */
const FAILING_APPLY_ERRORS = 5;

/** How often the apply errors are looked at (the marker is looked for every `pollMs`). */
const ERRORS_CHECK_MS = 1000;

export interface CatchUpResult {
  marker: number;
  elapsedMs: number;
  throttlePauses: number;
  throttlePausedMs: number;
  /** Rests between slices (a share of the time below 1), and their total time. */
  rests: number;
  restedMs: number;
}

export async function catchUpAfterCopy(ctx: StepContext, env: PgEnv): Promise<CatchUpResult> {
  const database = env.entry.database;
  const name = env.names(ctx).forward;
  const started = Date.now();
  return await withStepPacer(ctx, env, { work: 'catch-up', lag: false }, (pacer) =>
    withSites(ctx, env, async ({ source, target }) => {
      const marker = await writeMarker(source, env.names(ctx), 'forward');
      await pacer?.start();
      const hooks = {
        paused: () => setSubscriptionEnabled(target, name, false),
        resumed: () => setSubscriptionEnabled(target, name, true),
      };
      const sliceMs = Math.max(env.options.pollMs, pacer ? throttleSliceMs(env) : 0);
      let errorsAtStart: number | null = null;
      let rests = 0;
      let restedMs = 0;
      await pacer?.ready(ctx.signal, hooks);
      await setSubscriptionEnabled(target, name, true);
      let sliceStarted = Date.now();
      let errorsCheckedAt = 0;
      for (;;) {
        if ((await markerSeen(target, env.names(ctx), 'forward')) >= marker) break;
        if (Date.now() - errorsCheckedAt >= ERRORS_CHECK_MS) {
          errorsCheckedAt = Date.now();
          const progress = await subscriptionProgress(target, name);
          errorsAtStart ??= progress.applyErrors;
          if (progress.applyErrors - errorsAtStart >= FAILING_APPLY_ERRORS)
            throw new AdapterError(
              `replication keeps failing on the target while it applies what was written during the copy (${progress.applyErrors} apply errors so far); see the target server log`,
            );
        }
        const paused = pacer?.stats().pausedMs ?? 0;
        if (Date.now() - started - paused - restedMs > env.options.copyTimeoutMs)
          throw new TimeoutError(
            `the target did not catch up with what was written during the copy within ${env.options.copyTimeoutMs} ms (heartbeat marker ${marker} not shown); see the target server log`,
          );
        if (pacer && Date.now() - sliceStarted >= sliceMs) {
          // A share of the time below 1 (after latency breaches, or a niceRatio): rest between slices.
          if (pacer.stats().workShare < 1) {
            const restStarted = Date.now();
            await setSubscriptionEnabled(target, name, false);
            try {
              await pacer.rest(Date.now() - sliceStarted, ctx.signal);
            } finally {
              await setSubscriptionEnabled(target, name, true);
            }
            rests += 1;
            restedMs += Date.now() - restStarted;
          }
          await pacer.ready(ctx.signal, hooks);
          sliceStarted = Date.now();
        }
        await sleep(env.options.pollMs, ctx.signal);
      }
      ctx.events.emit('pg-marker-seen', {
        database,
        direction: 'forward',
        seq: marker,
        waitedMs: Date.now() - started,
      });
      const stats = pacer?.stats();
      return {
        marker,
        elapsedMs: Date.now() - started,
        throttlePauses: stats?.pauses ?? 0,
        throttlePausedMs: stats?.pausedMs ?? 0,
        rests,
        restedMs,
      };
    }),
  );
}

/** A slice of the catch-up between two of the pacer's checks: the plan's `checkInterval`. */
function throttleSliceMs(env: PgEnv): number {
  const spec = env.entry.throttle;
  return spec ? parseDuration(spec.checkInterval) : 1000;
}
