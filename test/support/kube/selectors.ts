/**
 * Label selectors (`a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`) and field
 * selectors (`path=value`, `path==value`, `path!=value`). The real server allows only some fields
 * per type in field selectors; this one allows any dotted path (a documented approximation).
 */
import { statusErrors } from './status.js';

export type Matcher = (object: Record<string, unknown>) => boolean;

type Requirement =
  | { key: string; op: 'eq' | 'neq'; value: string }
  | { key: string; op: 'in' | 'notin'; values: string[] }
  | { key: string; op: 'exists' | 'notexists' };

/** Splits on commas that are not inside parentheses. */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let current = '';
  for (const char of selector) {
    if (char === '(') depth += 1;
    if (char === ')') depth -= 1;
    if (char === ',' && depth === 0) {
      terms.push(current);
      current = '';
    } else current += char;
  }
  terms.push(current);
  return terms.map((term) => term.trim()).filter((term) => term !== '');
}

const keyPattern = /^([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?\/)?[a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?$/;

export function parseLabelSelector(selector: string): Requirement[] {
  return splitTerms(selector).map((term) => {
    let match = /^(\S+?)\s+(in|notin)\s+\((.*)\)$/.exec(term);
    if (match) {
      const values = (match[3] ?? '')
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '');
      return check({ key: match[1] ?? '', op: match[2] === 'in' ? 'in' : 'notin', values }, term);
    }
    match = /^(\S+?)\s*(==|!=|=)\s*(\S*)$/.exec(term);
    if (match) return check({ key: match[1] ?? '', op: match[2] === '!=' ? 'neq' : 'eq', value: match[3] ?? '' }, term);
    if (term.startsWith('!')) return check({ key: term.slice(1).trim(), op: 'notexists' }, term);
    return check({ key: term, op: 'exists' }, term);
  });
}

function check(requirement: Requirement, term: string): Requirement {
  if (!keyPattern.test(requirement.key)) {
    throw statusErrors.badRequest(`unable to parse requirement: invalid label key "${requirement.key}" in "${term}"`);
  }
  return requirement;
}

function matches(requirements: Requirement[], lookup: (key: string) => string | undefined): boolean {
  return requirements.every((r) => {
    const actual = lookup(r.key);
    switch (r.op) {
      case 'eq':
        return actual === r.value;
      case 'neq':
        return actual !== r.value;
      case 'in':
        return actual !== undefined && r.values.includes(actual);
      case 'notin':
        return actual === undefined || !r.values.includes(actual);
      case 'exists':
        return actual !== undefined;
      case 'notexists':
        return actual === undefined;
    }
    return false;
  });
}

function metadataOf(object: Record<string, unknown>): Record<string, unknown> {
  const metadata = object.metadata;
  return typeof metadata === 'object' && metadata !== null ? (metadata as Record<string, unknown>) : {};
}

export function labelMatcher(selector: string | null): Matcher {
  if (!selector) return () => true;
  const requirements = parseLabelSelector(selector);
  return (object) => {
    const labels = metadataOf(object).labels;
    const map = typeof labels === 'object' && labels !== null ? (labels as Record<string, unknown>) : {};
    return matches(requirements, (key) => (typeof map[key] === 'string' ? map[key] : undefined));
  };
}

function fieldValue(object: Record<string, unknown>, path: string): string | undefined {
  let current: unknown = object;
  for (const part of path.split('.')) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  if (typeof current === 'string') return current;
  if (typeof current === 'number' || typeof current === 'boolean') return String(current);
  return undefined;
}

export function fieldMatcher(selector: string | null): Matcher {
  if (!selector) return () => true;
  const requirements = splitTerms(selector).map((term): Requirement => {
    const match = /^([A-Za-z0-9_.]+)\s*(==|!=|=)\s*(.*)$/.exec(term);
    if (!match) throw statusErrors.badRequest(`invalid field selector: "${term}"`);
    return { key: match[1] ?? '', op: match[2] === '!=' ? 'neq' : 'eq', value: match[3] ?? '' };
  });
  return (object) =>
    matches(requirements, (key) => fieldValue(object, key) ?? (key === 'metadata.namespace' ? '' : undefined));
}
