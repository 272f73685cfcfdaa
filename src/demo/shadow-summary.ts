/**
 * The `shadow` part of `handoff demo -o json` (issue 15), from the shadow stage's verdict: what was
 * mirrored, compared, dropped, counted as different, noise or stale, the rate the gate judged, and
 * where the differences were (endpoint and field), so the summary names the changed path.
 */
import type { ShadowVerdict } from '../shadow/events.js';

export interface DemoShadowSummary {
  mirrored: number;
  compared: number;
  dropped: number;
  differences: number;
  noise: number;
  stale: number;
  /** Counted differences over compared reads (noise left out); null when nothing was compared. */
  diffRate: number | null;
  passed: boolean;
  /** `GET /accounts/:id $.owner`, most frequent first (at most 5). */
  changedPaths: string[];
  /** The differences file. */
  evidenceFile: string;
}

export function shadowSummary(verdict: ShadowVerdict): DemoShadowSummary {
  const c = verdict.counters;
  const changed: Array<[string, number]> = [];
  for (const e of verdict.endpoints) for (const [p, n] of e.paths) changed.push([`${e.endpoint} ${p}`, n]);
  changed.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  return {
    mirrored: c.mirrored,
    compared: c.compared,
    dropped: c.dropped.concurrency + c.dropped.bytes + c.dropped.body + c.dropped.error,
    differences: c.differences,
    noise: c.noise,
    stale: c.stale,
    diffRate: verdict.value,
    passed: verdict.outcome === 'Pass',
    changedPaths: changed.slice(0, 5).map(([p]) => p),
    evidenceFile: verdict.evidenceFile,
  };
}

export function formatShadowLine(s: DemoShadowSummary): string {
  const rate = s.diffRate === null ? '–' : `${(s.diffRate * 100).toFixed(2)} %`;
  const where = s.changedPaths.length > 0 ? `; changed: ${s.changedPaths.join(', ')} (evidence ${s.evidenceFile})` : '';
  return `  shadow        ${s.passed ? 'passed' : 'FAILED'}: ${s.compared} compared of ${s.mirrored} mirrored, ${s.differences} different (${rate}), ${s.noise} noise, ${s.stale} stale, ${s.dropped} dropped${where}`;
}
