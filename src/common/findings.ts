/**
 * What a preflight finds. Every component that checks something before a run changes anything
 * (PostgreSQL ids start with `pg.`, Kubernetes ids with `k8s.`) reports findings in this one shape,
 * so the CLI, the risk report and the gates read them the same way.
 */
import { z } from 'zod';

/** `blocker` stops the run before anything changes; `warning` is a risk to accept; `info` is a fact. */
export const SEVERITIES = ['blocker', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const findingSchema = z.strictObject({
  /** Stable identifier, for example `pg.wal-level` or `k8s.storage-class-missing`. Scripts may depend on it. */
  id: z.string().regex(/^[a-z0-9]+(\.[a-z0-9-]+)+$/),
  severity: z.enum(SEVERITIES),
  /** What it is about: a schema-qualified table, a setting, a role, a site (`source`, `target`). */
  subject: z.string(),
  /** What is wrong (or what is so), in one or two sentences. */
  message: z.string(),
  /** What to do about it; empty for `info` findings that need nothing. */
  remediation: z.string(),
  /** The exact statements that fix it, to run as they are (for example SQL on the target); only where there is one. */
  fix: z.string().optional(),
});

export type Finding = z.infer<typeof findingSchema>;

/** True when no finding is a blocker. */
export function noBlockers(findings: readonly Finding[]): boolean {
  return !findings.some((finding) => finding.severity === 'blocker');
}

/** Sorts blockers first, then warnings, then info; stable within a severity. */
export function sortFindings(findings: readonly Finding[]): Finding[] {
  const rank: Record<Severity, number> = { blocker: 0, warning: 1, info: 2 };
  return findings
    .map((finding, index) => ({ finding, index }))
    .sort((a, b) => rank[a.finding.severity] - rank[b.finding.severity] || a.index - b.index)
    .map(({ finding }) => finding);
}
