/** What a cross-field rule gets: the validated plan and a way to report a problem at a path. */
import type { PlanIssue, PlanLocation } from '../common/errors.js';
import { MAX_REPORTED_ISSUES } from './issue-limit.js';
import { formatPath, type PlanPath } from './path.js';
import type { Migration } from './schema.js';

export interface RuleContext {
  plan: Migration;
  /** Reports a problem at the value at `path` (or at its key with `atKey`). */
  report(path: PlanPath, message: string, options?: { atKey?: boolean }): void;
  /** `line N` of a path, for messages that point at a second place. */
  lineOf(path: PlanPath): number;
}

export type Rule = (ctx: RuleContext) => void;

export interface RuleLocator {
  file: string;
  locate(path: PlanPath): PlanLocation;
  locateKey(path: PlanPath): PlanLocation;
}

/** Collects problems into `issues`; past MAX_REPORTED_ISSUES it only counts them (`counted.total`). */
export function createRuleContext(
  plan: Migration,
  locator: RuleLocator,
  issues: PlanIssue[],
  counted: { total: number } = { total: 0 },
): RuleContext {
  return {
    plan,
    report: (path, message, options = {}) => {
      counted.total++;
      if (issues.length >= MAX_REPORTED_ISSUES) return;
      const where = options.atKey ? locator.locateKey(path) : locator.locate(path);
      issues.push({ ...where, path: formatPath(path), message });
    },
    lineOf: (path) => locator.locate(path).line,
  };
}

type AnalysisBlock = NonNullable<Migration['spec']['analysis']>;

/** Every analysis section of a plan (the plan's own and each stage override's), with its path. */
export function analysisBlocks(plan: Migration): Array<{ path: PlanPath; analysis: Partial<AnalysisBlock> }> {
  const blocks: Array<{ path: PlanPath; analysis: Partial<AnalysisBlock> }> = [];
  if (plan.spec.analysis) blocks.push({ path: ['spec', 'analysis'], analysis: plan.spec.analysis });
  plan.spec.stages.forEach((stage, index) => {
    if (stage.analysis) blocks.push({ path: ['spec', 'stages', index, 'analysis'], analysis: stage.analysis });
  });
  return blocks;
}
