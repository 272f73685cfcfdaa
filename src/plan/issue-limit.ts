/** A plan error lists at most this many problems; a file with thousands is the wrong file. */
import type { PlanIssue } from '../common/errors.js';

export const MAX_REPORTED_ISSUES = 50;

/** Sorts by position and keeps the first MAX_REPORTED_ISSUES, noting how many were left out. */
export function capIssues(issues: PlanIssue[], total = issues.length): PlanIssue[] {
  const sorted = [...issues].sort((a, b) => a.line - b.line || a.column - b.column);
  if (total <= MAX_REPORTED_ISSUES) return sorted;
  const kept = sorted.slice(0, MAX_REPORTED_ISSUES);
  const last = kept[kept.length - 1];
  if (last !== undefined) {
    kept.push({ ...last, path: '', message: `${total - MAX_REPORTED_ISSUES} more problems not shown` });
  }
  return kept;
}
