/**
 * Cross-field rules, run after the schema: what a reviewer checks that a schema cannot express.
 * Each rule is a small function that reports problems at paths; every problem gets file:line:column.
 * The rules about gates and checks live in rules-analysis.ts, about URLs and secrets in
 * rules-secrets.ts.
 */
import type { PlanIssue } from '../common/errors.js';
import { InputError } from '../common/errors.js';
import { parseTableName } from '../data/postgres/identifiers.js';
import { capIssues } from './issue-limit.js';
import { analysisRules } from './rules-analysis.js';
import { createRuleContext, type Rule, type RuleLocator } from './rule-context.js';
import { secretRules } from './rules-secrets.js';
import type { Migration } from './schema.js';
import { didYouMean } from './suggest.js';

const SITES = ['source', 'target'] as const;

const uniqueStageOverrides: Rule = ({ plan, report, lineOf }) => {
  const first = new Map<string, number>();
  plan.spec.stages.forEach((stage, index) => {
    const earlier = first.get(stage.name);
    if (earlier === undefined) first.set(stage.name, index);
    else {
      report(
        ['spec', 'stages', index, 'name'],
        `stage "${stage.name}" is already configured at spec.stages[${earlier}] (line ${lineOf(['spec', 'stages', earlier])}); merge the two entries`,
      );
    }
  });
};

const approvalsBeforeRunningStages: Rule = ({ plan, report }) => {
  const skipped = new Set(plan.spec.stages.filter((stage) => stage.skip).map((stage) => stage.name));
  const seen = new Set<string>();
  plan.spec.approvals.forEach((approval, index) => {
    if (skipped.has(approval.before)) {
      report(
        ['spec', 'approvals', index, 'before'],
        `stage "${approval.before}" is skipped (spec.stages), so this approval would never be asked for`,
      );
    }
    const key = `${approval.before}/${approval.role}`;
    if (seen.has(key)) {
      report(
        ['spec', 'approvals', index],
        `approval by role "${approval.role}" before "${approval.before}" is listed twice`,
      );
    }
    seen.add(key);
  });
};

const dataReferences: Rule = ({ plan, report, lineOf }) => {
  const first = new Map<string, number>();
  plan.spec.data.forEach((entry, index) => {
    const earlier = first.get(entry.database);
    if (earlier !== undefined) {
      report(
        ['spec', 'data', index, 'database'],
        `database "${entry.database}" is already listed at spec.data[${earlier}] (line ${lineOf(['spec', 'data', earlier])}); list its tables in one entry`,
      );
    } else first.set(entry.database, index);
    for (const site of SITES) {
      const names = Object.keys(plan.spec[site].databases);
      if (names.includes(entry.database)) continue;
      const have =
        names.length > 0 ? `spec.${site}.databases has: ${names.join(', ')}` : `spec.${site}.databases is empty`;
      report(
        ['spec', 'data', index, 'database'],
        `database "${entry.database}" is not defined on the ${site} site${didYouMean(entry.database, names)} (${have})`,
      );
    }
    entry.tables.forEach((pattern, tableIndex) => {
      const text = pattern.replace(/\.\*$/, '.x').replace(/^\*$/, 'x');
      if (pattern.includes('*') && !/^(?:[^*]+\.)?\*$/.test(pattern)) {
        report(
          ['spec', 'data', index, 'tables', tableIndex],
          `"${pattern}": a wildcard may only stand for a whole table name (schema.*)`,
        );
        return;
      }
      try {
        parseTableName(text, 'table');
      } catch (error) {
        if (!(error instanceof InputError)) throw error;
        report(
          ['spec', 'data', index, 'tables', tableIndex],
          `"${pattern}" is not a table name or pattern; write schema.table or schema.* (quote unusual names: "My Schema"."Orders")`,
        );
      }
    });
  });
};

const readWeights: Rule = ({ plan, report }) => {
  const reads = plan.spec.traffic?.reads;
  if (!reads) return;
  const path = ['spec', 'traffic', 'reads', 'steps'];
  reads.steps.forEach((weight, index) => {
    const previous = reads.steps[index - 1];
    if (previous !== undefined && weight <= previous) {
      report([...path, index], `read weights must be ascending: ${weight} comes after ${previous}`);
    }
  });
  const last = reads.steps[reads.steps.length - 1];
  if (last !== undefined && last !== 100) {
    report(
      [...path, reads.steps.length - 1],
      `the last read weight must be 100 (every read on the target before cutover); got ${last}`,
    );
  }
};

const trafficNeedsEndpoints: Rule = ({ plan, report }) => {
  const traffic = plan.spec.traffic;
  if (!traffic) return;
  for (const site of SITES) {
    if (plan.spec[site].endpoint === undefined) {
      report(
        ['spec', site],
        `spec.traffic moves requests between the sites, so the ${site} site needs an endpoint (endpoint: http://HOST:PORT)`,
        { atKey: true },
      );
    }
  }
  const router = traffic.router;
  if (router.kind === 'builtin') {
    for (const field of ['listen', 'admin'] as const) {
      const value = router[field];
      if (value !== undefined && !/^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):\d{1,5}$/.test(value)) {
        report(
          ['spec', 'traffic', 'router', field],
          `"${value}" is not an address to listen on; write HOST:PORT, for example 0.0.0.0:8080`,
        );
      } else if (value !== undefined && Number(value.slice(value.lastIndexOf(':') + 1)) > 65535) {
        report(
          ['spec', 'traffic', 'router', field],
          `port ${value.slice(value.lastIndexOf(':') + 1)} is out of range (1-65535)`,
        );
      }
    }
    if (router.admin !== undefined && router.admin === router.listen) {
      report(
        ['spec', 'traffic', 'router', 'admin'],
        'the admin API must listen on another address than the router itself',
      );
    }
  }
};

const sitesDiffer: Rule = ({ plan, report }) => {
  const { source, target } = plan.spec;
  if (
    source.platform.kind === 'kubernetes' &&
    target.platform.kind === 'kubernetes' &&
    source.platform.context === target.platform.context &&
    source.platform.namespace === target.platform.namespace
  ) {
    report(
      ['spec', 'target', 'platform'],
      'source and target are the same Kubernetes context and namespace; a migration needs two places',
    );
  }
  if (source.endpoint !== undefined && source.endpoint === target.endpoint) {
    report(
      ['spec', 'target', 'endpoint'],
      'source and target have the same endpoint; the router could not tell them apart',
    );
  }
};

const workloadsFitPlatforms: Rule = ({ plan, report }) => {
  const workloads = plan.spec.workloads;
  if (!workloads) return;
  const kinds = new Set(SITES.map((site) => plan.spec[site].platform.kind));
  if (workloads.processes !== undefined && !kinds.has('local')) {
    report(
      ['spec', 'workloads', 'processes'],
      'processes are workloads of the local platform, and neither site uses platform kind local',
      {
        atKey: true,
      },
    );
  }
  if (!kinds.has('kubernetes')) {
    for (const field of ['selector', 'namespaces', 'transforms'] as const) {
      if (workloads[field] !== undefined) {
        report(
          ['spec', 'workloads', field],
          `${field} applies to Kubernetes workloads, and neither site uses platform kind kubernetes`,
          {
            atKey: true,
          },
        );
      }
    }
  }
  const names = new Set<string>();
  workloads.processes?.forEach((process, index) => {
    if (names.has(process.name))
      report(['spec', 'workloads', 'processes', index, 'name'], `process name "${process.name}" is used twice`);
    names.add(process.name);
  });
};

const RULES: readonly Rule[] = [
  uniqueStageOverrides,
  approvalsBeforeRunningStages,
  dataReferences,
  readWeights,
  trafficNeedsEndpoints,
  sitesDiffer,
  workloadsFitPlatforms,
  ...secretRules,
  ...analysisRules,
];

/** Runs every cross-field rule; returns the problems sorted by position. */
export function checkRules(plan: Migration, locator: RuleLocator): PlanIssue[] {
  const issues: PlanIssue[] = [];
  const counted = { total: 0 };
  const ctx = createRuleContext(plan, locator, issues, counted);
  for (const rule of RULES) rule(ctx);
  return capIssues(issues, counted.total);
}
