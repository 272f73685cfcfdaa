/**
 * Rules about gates: every check names a known metric, has the fields its metric needs and no
 * fields it would ignore, and has a threshold it can fail (a check that cannot fail is a bug).
 */
import { isKnownMetric, KNOWN_METRICS } from '../analysis/metrics.js';
import { formatPath, type PlanPath } from './path.js';
import { analysisBlocks, type Rule, type RuleContext } from './rule-context.js';
import type { CheckSpec } from './schema.js';
import { didYouMean } from './suggest.js';

const METRIC_NAMES = Object.keys(KNOWN_METRICS);

type FieldName = 'query' | 'database' | 'probe' | 'url' | 'class';
const OPTIONAL_FIELDS: readonly FieldName[] = ['query', 'database', 'probe', 'url', 'class'];

/** What each metric provider needs (required) and accepts (allowed) besides the common fields. */
function fieldsFor(metric: string): { required: FieldName[]; allowed: FieldName[] } {
  const provider = metric.slice(0, metric.indexOf('.'));
  switch (provider) {
    case 'prometheus':
      return { required: ['query'], allowed: ['query'] };
    case 'sql':
      return { required: ['query', 'database'], allowed: ['query', 'database'] };
    case 'http':
      return { required: ['probe'], allowed: ['probe'] };
    case 'webhook':
      return { required: ['url'], allowed: ['url'] };
    case 'router':
      return { required: [], allowed: ['class'] };
    default:
      return { required: [], allowed: [...OPTIONAL_FIELDS] };
  }
}

const fieldHelp: Record<FieldName, string> = {
  query: 'query: the PromQL or SQL query returning one number',
  database: 'database: the name of a database defined on both sites',
  probe: 'probe: { path: /healthz } (the request sent to each site)',
  url: 'url: the address of the system that decides',
  class: 'class: reads, writes or all',
};

function checkOne(ctx: RuleContext, base: PlanPath, check: CheckSpec, prometheusUrl: string | undefined): void {
  const { plan, report } = ctx;
  const path = [...base];
  if (!isKnownMetric(check.metric)) {
    report(
      [...path, 'metric'],
      `unknown metric "${check.metric}"; known metrics: ${METRIC_NAMES.join(', ')}${didYouMean(check.metric, METRIC_NAMES)}`,
    );
    return;
  }
  const { required, allowed } = fieldsFor(check.metric);
  for (const field of required) {
    if (check[field] === undefined) {
      report(path, `metric ${check.metric} needs field "${field}" (${fieldHelp[field]})`);
    }
  }
  for (const field of OPTIONAL_FIELDS) {
    if (check[field] !== undefined && !allowed.includes(field)) {
      report([...path, field], `field "${field}" is not used by metric ${check.metric}; remove it`, { atKey: true });
    }
  }
  const provider = check.metric.slice(0, check.metric.indexOf('.'));
  if (provider === 'prometheus' && prometheusUrl === undefined) {
    report(path, `metric ${check.metric} needs a Prometheus server: set spec.analysis.prometheus.url`);
  }
  if (provider === 'sql' && check.database !== undefined) {
    for (const site of ['source', 'target'] as const) {
      const names = Object.keys(plan.spec[site].databases);
      if (!names.includes(check.database)) {
        report(
          [...path, 'database'],
          `database "${check.database}" is not defined on the ${site} site${didYouMean(check.database, names)}`,
        );
      }
    }
  }
  if (provider === 'http') {
    for (const site of ['source', 'target'] as const) {
      if (plan.spec[site].endpoint === undefined) {
        report(path, `metric ${check.metric} probes each site's endpoint; set spec.${site}.endpoint`);
      }
    }
  }
  if (provider === 'router') {
    const router = plan.spec.traffic?.router;
    if (router === undefined)
      report([...path, 'metric'], `metric ${check.metric} is measured by the router; this plan has no spec.traffic`);
    else if (router.kind !== 'builtin') {
      report(
        [...path, 'metric'],
        `metric ${check.metric} is measured by the built-in router; the ${router.kind} router only sets weights (use prometheus.query or http.* instead)`,
      );
    }
  }
  if (provider !== 'webhook') {
    const relative = check.relativeToSource;
    if (
      check.max === undefined &&
      check.min === undefined &&
      relative?.warn === undefined &&
      relative?.fail === undefined
    ) {
      report(
        path,
        `check "${check.name}" has no threshold, so it could never fail; set max, min or relativeToSource.fail`,
      );
    }
  }
  if (check.min !== undefined && check.max !== undefined && check.min > check.max) {
    report([...path, 'min'], `min (${check.min}) is greater than max (${check.max}); no value could pass`);
  }
  const relative = check.relativeToSource;
  if (relative?.warn !== undefined && relative.fail !== undefined && relative.warn > relative.fail) {
    report(
      [...path, 'relativeToSource', 'warn'],
      `warn (${relative.warn}) is above fail (${relative.fail}); warn should come first`,
    );
  }
}

const checks: Rule = (ctx) => {
  const planUrl = ctx.plan.spec.analysis?.prometheus?.url;
  for (const { path, analysis } of analysisBlocks(ctx.plan)) {
    const first = new Map<string, number>();
    analysis.checks?.forEach((check, index) => {
      const checkPath = [...path, 'checks', index];
      const earlier = first.get(check.name);
      if (earlier !== undefined) {
        ctx.report(
          [...checkPath, 'name'],
          `check name "${check.name}" is already used by ${formatPath([...path, 'checks', earlier])}`,
        );
      } else first.set(check.name, index);
      checkOne(ctx, checkPath, check, analysis.prometheus?.url ?? planUrl);
    });
  }
};

export const analysisRules: readonly Rule[] = [checks];
