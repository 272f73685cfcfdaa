/**
 * The common frame of the rollback drills: two drill sites, a drill run of a plan over them, and a
 * bounded load through the router, all registered for cleanup; a way to inject a fault at a given
 * point of the read shift; and readers of what the run left (audit records, where reads go now).
 */
import type { StoredRecord } from '../../src/audit/format.js';
import type { HandoffEvent } from '../../src/common/events.js';
import { trafficWeightsSchema } from '../../src/report/events.js';
import { startDrillSite, type DrillSite } from './drill-site.js';
import { startLoad, type Load, type LoadAnswer } from './drill-load.js';
import { prepareDrill, type Drill } from './drill-run.js';

/** The plain gate of the drills: the target's read error rate, absolute and against the source, every second. */
export const ROUTER_ERROR_GATE = `    interval: 1s
    minSamples: 20
    checks:
      - { name: errors, metric: router.error_rate, class: reads, max: 0.05, relativeToSource: { fail: 2 } }`;

export type Cleanup = () => Promise<void> | void;

export interface DrillScenario {
  source: DrillSite;
  target: DrillSite;
  drill: Drill;
  load: Load;
}

export interface ScenarioOptions {
  name: string;
  steps: number[];
  bake?: string;
  /**
   * YAML of `spec.analysis`, its keys indented by four spaces; or a function of the started sites
   * that gives it (to start what watches them first, and push its own cleanup).
   */
  analysis: string | ((sites: { source: DrillSite; target: DrillSite }) => Promise<string>);
}

/** Starts the sites, writes the plan and starts the load; every piece is pushed onto `cleanups`. */
export async function startScenario(cleanups: Cleanup[], options: ScenarioOptions): Promise<DrillScenario> {
  const source = await startDrillSite('source');
  cleanups.push(() => source.close());
  const target = await startDrillSite('target');
  cleanups.push(() => target.close());
  const analysis = typeof options.analysis === 'string' ? options.analysis : await options.analysis({ source, target });
  const drill = await prepareDrill({
    name: options.name,
    sourceUrl: source.url,
    targetUrl: target.url,
    steps: options.steps,
    bake: options.bake ?? '3s',
    analysis,
  });
  cleanups.push(() => drill.close());
  // The router listens once preflight starts it; answers before that are refusals (status 0).
  const load = startLoad({ url: drill.routerUrl, ratePerSecond: 100, maxMs: 120_000 });
  cleanups.push(() => load.stop());
  return { source, target, drill, load };
}

/** The read share (0..1) a `traffic-weights` event gives the target; null for other events. */
export function targetReadShare(event: HandoffEvent): number | null {
  if (event.type !== 'traffic-weights') return null;
  const parsed = trafficWeightsSchema.safeParse(event.data);
  return parsed.success ? (parsed.data.reads.target ?? null) : null;
}

/** The `reason` of a `traffic-weights` event; null for other events. */
export function weightsReason(event: HandoffEvent): string | null {
  if (event.type !== 'traffic-weights') return null;
  const parsed = trafficWeightsSchema.safeParse(event.data);
  return parsed.success ? parsed.data.reason : null;
}

/** Once the shift step with this read share (0..1) has set its weights, calls `fn` after `delayMs` (once). */
export function atStep(
  cleanups: Cleanup[],
  drill: Drill,
  share: number,
  delayMs: number,
  fn: () => void | Promise<void>,
): void {
  let timer: NodeJS.Timeout | undefined;
  cleanups.push(() => clearTimeout(timer));
  drill.onEvent((event) => {
    if (timer || targetReadShare(event) !== share) return;
    timer = setTimeout(() => void fn(), delayMs);
  });
}

export function records(trail: StoredRecord[], action: string, subject?: string): StoredRecord[] {
  return trail.filter((r) => r.action === action && (subject === undefined || r.subject === subject));
}

/** Answers counted by `"<site> <status>"` (`"status 0"` for requests that got no answer). */
export function sitesOf(answers: LoadAnswer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const a of answers) {
    const key = a.site === null ? `status ${a.status}` : `${a.site} ${a.status}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** Where reads go now: the answers to the next `count` requests sent from now on. */
export async function readsNow(load: Load, count = 200): Promise<Record<string, number>> {
  return sitesOf(await load.waitForAnswers(performance.now(), count, 30_000));
}
