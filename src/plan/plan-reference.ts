/**
 * Renders docs/plan-reference.md from the JSON Schema of plan files: every field with its path,
 * type, default and description. `npm run docs:plan-reference` writes it; a test fails when the
 * committed file differs, so the reference cannot drift from the schema.
 */
import { KNOWN_METRICS } from '../analysis/metrics.js';
import { planJsonSchema } from './json-schema.js';
import { API_VERSION } from './schema.js';

type Json = Record<string, unknown>;

interface Row {
  path: string;
  type: string;
  default: string;
  description: string;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function options(node: Json): Json[] {
  const list = node.oneOf ?? node.anyOf;
  return Array.isArray(list) ? list.filter(isObject) : [];
}

/** A union of `{ fromEnv }`, `{ fromFile }`, `{ fromSecret }` objects. */
function isSecretRef(node: Json): boolean {
  const opts = options(node);
  return (
    opts.length > 0 &&
    opts.every(
      (option) => isObject(option.properties) && Object.keys(option.properties).some((key) => key.startsWith('from')),
    )
  );
}

/** The property whose `const` tells the options of a union apart (`kind`). */
function discriminator(node: Json): string | undefined {
  const opts = options(node);
  if (opts.length < 2) return undefined;
  const first = opts[0]?.properties;
  if (!isObject(first)) return undefined;
  return Object.keys(first).find((key) =>
    opts.every(
      (option) => isObject(option.properties) && isObject(option.properties[key]) && 'const' in option.properties[key],
    ),
  );
}

function typeOf(node: Json): string {
  if ('const' in node) return `\`${JSON.stringify(node.const)}\``;
  if (Array.isArray(node.enum)) return node.enum.map((value) => `\`${String(value)}\``).join(', ');
  if (isSecretRef(node)) return 'secret reference';
  const opts = options(node);
  if (opts.length > 0) {
    const disc = discriminator(node);
    if (disc !== undefined) {
      const kinds = opts.map((option) =>
        JSON.stringify((option.properties as Json)[disc] && ((option.properties as Json)[disc] as Json).const),
      );
      return `object, by \`${disc}\`: ${kinds.map((kind) => `\`${kind}\``).join(', ')}`;
    }
    return opts.map(typeOf).join(' or ');
  }
  if (node.type === 'array') return `list of ${isObject(node.items) ? typeOf(node.items) : 'values'}`;
  if (node.type === 'object') {
    if (isObject(node.additionalProperties)) return `map of ${typeOf(node.additionalProperties)}`;
    return 'object';
  }
  if (node.type === 'string' && typeof node.pattern === 'string' && node.pattern.includes('ms|s|m|h'))
    return 'duration';
  if (node.type === 'string' && node.format === 'uri') return 'URL';
  if (node.type === 'integer') return 'integer';
  if (Array.isArray(node.type)) return node.type.join(' or ');
  return typeof node.type === 'string' ? node.type : 'any';
}

function limits(node: Json): string {
  const parts: string[] = [];
  const bounded = (value: unknown): value is number =>
    typeof value === 'number' && Math.abs(value) < Number.MAX_SAFE_INTEGER;
  if (bounded(node.minimum)) parts.push(`≥ ${node.minimum}`);
  if (typeof node.exclusiveMinimum === 'number') parts.push(`> ${node.exclusiveMinimum}`);
  if (bounded(node.maximum)) parts.push(`≤ ${node.maximum}`);
  if (typeof node.minItems === 'number' && node.minItems > 0) parts.push(`at least ${node.minItems} item`);
  const items = isObject(node.items) ? node.items : undefined;
  if (items && typeof items.exclusiveMinimum === 'number') parts.push(`each > ${items.exclusiveMinimum}`);
  if (items && typeof items.maximum === 'number') parts.push(`each ≤ ${items.maximum}`);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

function walk(node: Json, path: string, required: boolean, rows: Row[], note = ''): void {
  if (path !== '') {
    rows.push({
      path,
      type: typeOf(node) + limits(node),
      default: 'default' in node ? `\`${JSON.stringify(node.default)}\`` : required ? 'required' : '',
      description: `${note}${typeof node.description === 'string' ? node.description : ''}`,
    });
  }
  if (isSecretRef(node)) return;
  const disc = discriminator(node);
  if (disc !== undefined) {
    for (const option of options(node)) {
      const kind = JSON.stringify(((option.properties as Json)[disc] as Json).const);
      walkProperties(option, path, rows, `(${disc} ${kind}) `, disc);
    }
    return;
  }
  for (const option of options(node)) walkProperties(option, path, rows, note);
  // Items of lists and values of maps have no row of their own; their fields do.
  if (node.type === 'array' && isObject(node.items)) walkProperties(node.items, `${path}[]`, rows, '');
  if (isObject(node.additionalProperties)) walkProperties(node.additionalProperties, `${path}.<name>`, rows, '');
  walkProperties(node, path, rows, '');
}

function walkProperties(node: Json, path: string, rows: Row[], note: string, skip?: string): void {
  if (!isObject(node.properties)) return;
  const required = Array.isArray(node.required) ? node.required : [];
  for (const [key, child] of Object.entries(node.properties)) {
    if (!isObject(child)) continue;
    const childPath = path === '' ? key : `${path}.${key}`;
    if (key === skip) {
      rows.push({
        path: childPath,
        type: typeOf(child),
        default: 'required',
        description: `${note}${String(child.description ?? '')}`,
      });
      continue;
    }
    walk(child, childPath, required.includes(key), rows, note);
  }
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function renderPlanReference(): string {
  const rows: Row[] = [];
  walk(planJsonSchema(), '', true, rows);
  const lines = [
    '# Plan file reference',
    '',
    '<!-- Generated by `npm run docs:plan-reference` from src/plan/schema.ts. Do not edit by hand: a test checks it. -->',
    '',
    `A plan is one YAML document with \`apiVersion: ${API_VERSION}\` and \`kind: Migration\`. Every object is`,
    'strict: an unknown field is an error that names the nearest known field. `handoff validate -f plan.yaml`',
    'checks a plan (schema, then cross-field rules) and prints every problem as `file:line:column: path: message`;',
    '`handoff schema > migration.schema.json` writes the JSON Schema for editors.',
    '',
    '## Secret references',
    '',
    'A plan holds no secrets. Where a field says *secret reference*, write one of:',
    '',
    '- `{ fromEnv: NAME }`: the value of an environment variable (set and non-empty);',
    "- `{ fromFile: PATH }`: the content of a file, relative to the plan's directory (one trailing newline trimmed);",
    "- `{ fromSecret: { name, key, namespace?, context? } }`: a key of a Kubernetes Secret, read with the site's kubeconfig",
    "  (`GET` on the Secret; `namespace` and `context` default to the site's) when `handoff preflight -f` or a run needs it,",
    "  held in memory only (one trailing newline trimmed). Only on a Kubernetes site; outside the sites (the router's",
    '  `adminToken`) give `context` and `namespace`. `handoff validate` does not read clusters: preflight reports a Secret',
    '  that cannot be read as `secret.unreadable` (not found, key missing, forbidden by RBAC) and the run stops in preflight.',
    '',
    'A database `url` may also be a literal URL without a password; a literal password is refused. A reference holds the',
    'whole URL, password included (`postgresql://USER:PASSWORD@HOST:PORT/DB`).',
    '',
    '## Durations',
    '',
    'A *duration* is a number and a unit (`ms`, `s`, `m`, `h`), or a sequence of them: `500ms`, `30s`, `1.5m`, `1m30s`.',
    '',
    '## Cross-field rules',
    '',
    '- `spec.stages[].name` is unique; an approval before a skipped stage is an error.',
    '- every `spec.data[].database` is defined in both `spec.source.databases` and `spec.target.databases`;',
    '  `tables` are `schema.table` or `schema.*`.',
    '- `spec.traffic.reads.steps` are ascending and end at 100; `spec.traffic` needs an `endpoint` on both sites.',
    '- every check names a known `metric`, has the fields its metric needs and no field it ignores, and has a threshold.',
    '- `workloads.processes` need a `local` site; `selector`, `namespaces` and `transforms` need a `kubernetes` site.',
    '- the two sites differ (context and namespace, endpoint, database references).',
    '',
    '## Metrics',
    '',
    '| metric | what it measures |',
    '| --- | --- |',
    ...Object.entries(KNOWN_METRICS).map(([metric, text]) => `| \`${metric}\` | ${cell(text)} |`),
    '',
    '## Fields',
    '',
    '| field | type | default | description |',
    '| --- | --- | --- | --- |',
    ...rows.map((row) => `| \`${row.path}\` | ${cell(row.type)} | ${cell(row.default)} | ${cell(row.description)} |`),
    '',
  ];
  return lines.join('\n');
}
