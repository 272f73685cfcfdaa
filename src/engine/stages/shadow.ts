/**
 * The shadow stage, between verify and shift: before any user is moved, the router copies a share
 * of the reads the source answers to the target and compares the answers (src/shadow/). While it
 * runs, replication lag is measured by heartbeat and the router told how far the target has applied
 * the source's changes (the watermark), so a difference caused by lag is stale, not counted. Every
 * counted difference goes to `<state dir>/shadow/<run>.jsonl`. At the end the gate
 * `shadow.diff_rate` (differences over compared reads, noise left out) decides: above the budget
 * the run fails before the shift, nothing moved; too few samples holds the run.
 *
 * A router that cannot mirror (`capabilities.mirroring` false) skips the stage when the plan says
 * `onUnsupported: skip`; otherwise preflight has already refused the plan.
 */
import { parseDuration } from '../../common/duration.js';
import { AdapterError, GateFailedError, HoldRunError, messageOf } from '../../common/errors.js';
import { sleep } from '../../common/net.js';
import type { Migration } from '../../plan/schema.js';
import { createEvidenceFile } from '../../shadow/evidence-file.js';
import { shadowVerdict } from '../../shadow/verdict.js';
import '../../shadow/events.js';
import { capabilitiesOf } from '../../traffic/capabilities.js';
import type { Stage, StageDeps } from '../stage.js';
import type { StepContext } from '../step.js';
import { runtimeOf } from './support.js';

const TICK_MS = 1000;

type ShadowSpec = NonNullable<NonNullable<Migration['spec']['traffic']>['shadow']>;

function settingsOf(spec: ShadowSpec, lagAware: boolean) {
  return {
    share: spec.share,
    methods: spec.match.methods,
    paths: spec.match.paths,
    exclude: spec.match.exclude,
    headers: spec.headers,
    ignore: spec.ignore,
    noiseShare: spec.noise,
    concurrency: spec.limits.concurrency,
    queuedBytes: spec.limits.queuedBytes,
    bodyBytes: spec.limits.bodyBytes,
    timeoutMs: parseDuration(spec.limits.timeout),
    lagAware,
    hostSuffix: spec.hostSuffix,
  };
}

/** Measures lag on every database; returns the time up to which the target has applied everything, or null. */
async function measureWatermark(ctx: StepContext, deps: StageDeps): Promise<number | null> {
  const data = runtimeOf(deps).dataPlane(ctx.plan);
  const started = Date.now();
  try {
    await Promise.all(ctx.plan.spec.data.map((entry) => data.lag(ctx, entry, 5000)));
    return started;
  } catch (error) {
    ctx.logger.warn('replication lag could not be measured; differences stay stale until it can', {
      error: messageOf(error),
    });
    return null;
  }
}

export function shadowStage(plan: Migration, deps: StageDeps): Stage {
  const traffic = plan.spec.traffic;
  const spec = traffic?.shadow;
  if (traffic === undefined || spec === undefined) {
    return { name: 'shadow', skip: 'the plan asks for no shadow reads (spec.traffic.shadow)', steps: [] };
  }
  const capabilities = capabilitiesOf(plan.spec);
  if (capabilities !== null && !capabilities.mirroring && spec.onUnsupported === 'skip') {
    return {
      name: 'shadow',
      skip: `the ${traffic.router.kind} router cannot mirror requests (spec.traffic.shadow.onUnsupported: skip)`,
      steps: [],
    };
  }
  const durationMs = parseDuration(spec.duration);
  const maxMs = spec.budget.maxDuration === undefined ? 3 * durationMs : parseDuration(spec.budget.maxDuration);
  return {
    name: 'shadow',
    steps: [
      {
        name: 'compare',
        retry: false,
        async run(ctx) {
          const runtime = runtimeOf(deps);
          const router = await runtime.router(ctx);
          const control = router.shadow;
          if (control === undefined) {
            throw new AdapterError(
              `the ${traffic.router.kind} router cannot mirror requests; remove spec.traffic.shadow or set onUnsupported: skip`,
            );
          }
          const lagAware = ctx.plan.spec.data.length > 0;
          const settings = settingsOf(spec, lagAware);
          const file = createEvidenceFile(runtime.stateDir, ctx.runId, ctx.redactor);
          await control.start(settings);
          ctx.events.emit(
            'shadow-started',
            { share: spec.share, durationMs, lagAware, methods: spec.match.methods, paths: spec.match.paths },
            { subject: 'shadow' },
          );
          const started = Date.now();
          let cursor = 0;
          const pull = async (): Promise<number> => {
            const status = await control.status(cursor);
            file.append(status.evidence);
            cursor = status.nextSeq;
            return status.counters.compared;
          };
          try {
            for (;;) {
              if (ctx.signal.aborted) throw new HoldRunError('the run was stopped during the shadow stage');
              if (lagAware) {
                const watermark = await measureWatermark(ctx, deps);
                if (watermark !== null) await control.watermark(watermark);
              }
              const compared = await pull();
              const elapsed = Date.now() - started;
              if (elapsed >= maxMs || (elapsed >= durationMs && compared >= spec.budget.minSamples)) break;
              await sleep(TICK_MS);
            }
            // A last watermark, so differences still stale can be re-read before the verdict.
            if (lagAware) {
              const watermark = await measureWatermark(ctx, deps);
              if (watermark !== null) await control.watermark(watermark);
            }
          } catch (error) {
            await control.stop().catch(() => undefined);
            throw error;
          }
          const final = await control.stop();
          file.append(final.evidence.filter((r) => r.seq > cursor));
          const verdict = shadowVerdict(final, {
            threshold: spec.budget.maxDiffRate,
            minSamples: spec.budget.minSamples,
            share: spec.share,
            durationMs: Date.now() - started,
            evidenceFile: file.absolute,
          });
          ctx.events.emit('shadow-verdict', verdict, { subject: 'shadow' });
          if (verdict.outcome === 'Fail') throw new GateFailedError(verdict.reason);
          if (verdict.outcome === 'NoData') throw new HoldRunError(verdict.reason);
          return {
            outcome: verdict.outcome,
            diffRate: verdict.value,
            compared: verdict.samples,
            differences: verdict.counters.differences,
            evidenceFile: verdict.evidenceFile,
          };
        },
        async undo(ctx) {
          const router = await runtimeOf(deps).router(ctx);
          await router.shadow?.stop();
        },
      },
    ],
  };
}
