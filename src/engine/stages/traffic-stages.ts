/**
 * The traffic stages: shift moves reads to the target step by step, each step baked and gated;
 * cutover holds requests at the router, runs the data plane's fenced cutover, moves writes and
 * releases the held requests to the target; bake watches the target with all traffic. Undo moves
 * traffic back to the source (holding writes while the data plane fails back).
 */
import { parseDuration } from '../../common/duration.js';
import { GateFailedError, HoldRunError } from '../../common/errors.js';
import type { Migration } from '../../plan/schema.js';
import { capabilitiesOf } from '../../traffic/capabilities.js';
import type { RequestClass, Routes } from '../../traffic/routes.js';
import type { Step, StepContext } from '../step.js';
import type { Stage, StageDeps } from '../stage.js';
import type { DataPlane } from '../../data/data-plane.js';
import type { Runtime } from '../runtime.js';
import { dataPlaneOf, runtimeOf } from './support.js';
import { bakeFor, reportLag, watchStep } from './traffic-watch.js';

const NO_TRAFFIC = 'the plan has no traffic section';
const ALL_SOURCE = { source: 1, target: 0 };
const ALL_TARGET = { source: 0, target: 1 };

/** The router's new weights, as the report reads them (subject `router`: what changed; the why is in `reason`). */
function emitWeights(ctx: StepContext, routes: Routes, reason: string): void {
  ctx.events.emit('traffic-weights', { reads: routes.reads, writes: routes.writes, reason }, { subject: 'router' });
}

function cutoverBounds(plan: Migration): { maxHoldMs: number; holdReads: boolean } {
  const cutover = plan.spec.traffic?.cutover;
  return { maxHoldMs: parseDuration(cutover?.maxHold ?? '2s'), holdReads: cutover?.holdReads ?? false };
}

/** Moves read traffic to the target step by step, each step baked and gated. */
export function shiftStage(plan: Migration, deps: StageDeps): Stage {
  const traffic = plan.spec.traffic;
  if (!traffic) return { name: 'shift', skip: NO_TRAFFIC, steps: [] };
  const capabilities = capabilitiesOf(plan.spec);
  if (capabilities && !capabilities.splitClasses) {
    return {
      name: 'shift',
      skip: `the ${traffic.router.kind} router moves reads and writes together, so reads cannot go first: all traffic moves at cutover${capabilities.hold ? '' : ', with a brief write refusal'}`,
      steps: [],
    };
  }
  const weights = traffic.reads.steps;
  const steps: Step[] = weights.map((percent, index) => ({
    name: `reads-${String(percent).replace('.', '_')}`,
    async run(ctx) {
      const runtime = runtimeOf(deps);
      const router = await runtime.router(ctx);
      const data = runtime.dataPlane(ctx.plan);
      if (index === 0) await reportLag(ctx, router, data);
      const share = percent / 100;
      const { routes } = await router.setRoutes({ reads: { source: 1 - share, target: share } });
      emitWeights(ctx, routes, `shift step ${index + 1} of ${weights.length} (${percent} %)`);
      try {
        return await watchStep(ctx, {
          stage: 'shift',
          gate: `shift-${percent}`,
          router,
          bakeMs: bakeFor(ctx, 'shift'),
          expectedShare: share,
          reportLag: true,
          ...watchAdapters(runtime, data),
        });
      } catch (error) {
        if (!(error instanceof GateFailedError) || ctx.plan.spec.rollback.shiftGate !== 'hold') throw error;
        // spec.rollback.shiftGate hold: reads back on the source, the run held; resume runs this step again.
        const back = await router.setRoutes({ reads: ALL_SOURCE });
        emitWeights(ctx, back.routes, `rollback: reads back on the source (from the ${percent} % step)`);
        throw new HoldRunError(`${error.message}; reads are back on the source`, { cause: error });
      }
    },
    async undo(ctx) {
      const router = await runtimeOf(deps).router(ctx);
      const { routes, changed } = await router.setRoutes({ reads: ALL_SOURCE });
      if (changed.length > 0)
        emitWeights(ctx, routes, `rollback: reads back on the source (from the ${percent} % step)`);
    },
  }));
  return { name: 'shift', steps };
}

/** What a watched step measures through besides the router: lag from the data plane, the runtime's gate providers. */
function watchAdapters(
  runtime: Runtime,
  data: DataPlane,
): { data: DataPlane; metricProviders?: NonNullable<Runtime['metricProviders']> } {
  return { data, ...(runtime.metricProviders ? { metricProviders: runtime.metricProviders } : {}) };
}

/** Buffers requests, fences the source, waits for the target, moves writes, releases the buffer. */
export function cutoverStage(plan: Migration, deps: StageDeps): Stage {
  if (!plan.spec.traffic) return { name: 'cutover', skip: NO_TRAFFIC, steps: [] };
  const data = dataPlaneOf(plan, deps);
  const { maxHoldMs, holdReads } = cutoverBounds(plan);
  const classes: RequestClass[] = holdReads ? ['writes', 'reads'] : ['writes'];
  const STARTED = 'cutover.stats-before';
  const canHold = capabilitiesOf(plan.spec)?.hold ?? false;
  // The data plane says which of its steps go before, under and after the hold; the hold is placed by that structure.
  const phases = plan.spec.data.map((entry) => data.cutoverSteps(entry));
  const steps: Step[] = [
    ...phases.flatMap((p) => p.beforeHold),
    {
      name: 'hold-requests',
      async run(ctx) {
        const router = await runtimeOf(deps).router(ctx);
        ctx.state.set(STARTED, (await router.snapshot()).stats);
        const held = await router.hold({ classes, maxHoldMs, drainMs: Math.min(maxHoldMs, 5000) });
        return {
          classes: held.classes,
          deadline: held.deadline,
          drained: held.drain.drained,
          inFlight: held.drain.inFlight,
        };
      },
      async undo(ctx) {
        await (await runtimeOf(deps).router(ctx)).release();
      },
    },
    // Requests are held (maxHold): a retry's wait would outlast the hold, so a failure here rolls back at once.
    ...phases.flatMap((p) => p.underHold).map((step): Step => ({ ...step, retry: false })),
    {
      name: 'route-to-target',
      retry: false,
      async run(ctx) {
        const { routes } = await (
          await runtimeOf(deps).router(ctx)
        ).setRoutes({ reads: ALL_TARGET, writes: ALL_TARGET });
        emitWeights(ctx, routes, 'cutover: writes and reads to the target');
        return { routes };
      },
      async undo(ctx) {
        // Failing back: hold requests while the data plane gives the writes back to the source
        // (the earlier undos); the hold step's undo releases them to the source.
        const router = await runtimeOf(deps).router(ctx);
        if (canHold) await router.hold({ classes: ['writes', 'reads'], maxHoldMs, drainMs: Math.min(maxHoldMs, 5000) });
        const { routes } = await router.setRoutes({ reads: ALL_SOURCE, writes: ALL_SOURCE });
        emitWeights(ctx, routes, 'failback: writes and reads back to the source');
      },
    },
    {
      name: 'release-requests',
      async run(ctx) {
        const router = await runtimeOf(deps).router(ctx);
        const released = await router.release();
        const snapshot = await router.snapshot();
        const before = ctx.state.get<typeof snapshot.stats>(STARTED);
        let failed = 0;
        for (const [site, stats] of Object.entries(snapshot.stats.sites)) {
          const b = before?.sites[site];
          failed += stats.writes.errors - (b?.writes.errors ?? 0) + (stats.reads.errors - (b?.reads.errors ?? 0));
        }
        const last = released.last;
        // The router's figure; null when nothing was held (never 0: "no pause" is not "a 0 ms pause").
        const pause = released.pauseMs ?? last?.pauseMs ?? null;
        const writePauseMs = pause === null ? null : Math.round(pause);
        ctx.events.emit(
          'cutover-measured',
          {
            writePauseMs,
            heldRequests: released.released || (last?.released ?? 0),
            failedRequests: Math.max(0, failed),
          },
          { subject: 'cutover' },
        );
        return {
          writePauseMs,
          released: released.released,
          // How long the site took to answer every released request (the router answers the
          // release only then, so the steps after it do not compete with them).
          ...(released.drain ? { answeredMs: released.drain.waitedMs, unanswered: released.drain.inFlight } : {}),
          releasedBy: last?.reason ?? 'request',
          failedRequests: Math.max(0, failed),
        };
      },
    },
    ...phases.flatMap((p) => p.afterHold),
  ];
  // A router that cannot hold requests (weights only): writes are refused from the fence until the
  // target opens and the weights move (preflight says so: router.cannot-hold).
  if (!canHold)
    return { name: 'cutover', steps: steps.filter((s) => s.name !== 'hold-requests' && s.name !== 'release-requests') };
  return { name: 'cutover', steps };
}

/** Full traffic on the target with the gates still watching; a failure fails back through undo. */
export function bakeStage(plan: Migration, deps: StageDeps): Stage {
  if (!plan.spec.traffic) return { name: 'bake', skip: `${NO_TRAFFIC}: nothing to bake`, steps: [] };
  // The rotate-credentials action (spec.data[].access.rotation) runs once, first in the bake
  // (startAfter into it); the bake's gates then watch the service on its new credentials.
  const rotating = plan.spec.data.filter((entry) => entry.access?.rotation);
  const rotations =
    rotating.length > 0
      ? rotating.flatMap((entry) => dataPlaneOf(plan, deps).credentialRotationSteps?.(entry) ?? [])
      : [];
  return {
    name: 'bake',
    steps: [
      ...rotations,
      {
        name: 'bake-on-target',
        async run(ctx) {
          const runtime = runtimeOf(deps);
          const router = await runtime.router(ctx);
          const adapters = watchAdapters(runtime, runtime.dataPlane(ctx.plan));
          return watchStep(ctx, {
            stage: 'bake',
            gate: 'bake',
            router,
            bakeMs: bakeFor(ctx, 'bake'),
            expectedShare: 1,
            reportLag: false,
            ...adapters,
          });
        },
      },
    ],
  };
}
