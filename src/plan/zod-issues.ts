/**
 * Turns zod issues into plan issues a person can act on: each with file:line:column and the path,
 * unknown fields with the nearest known field, unknown kinds with the kinds that exist, and unions
 * (a string or a secret reference, ...) explained by the branch the author most likely meant.
 */
import type { z } from 'zod';
import type { PlanIssue, PlanLocation } from '../common/errors.js';
import { formatPath, toPlanPath, type PlanPath } from './path.js';
import { capIssues, MAX_REPORTED_ISSUES } from './issue-limit.js';
import { formsAt, knownFieldsAt } from './schema-walk.js';
import { didYouMean } from './suggest.js';

type ZodIssue = z.core.$ZodIssue;

export interface IssueContext {
  schema: z.core.$ZodType;
  data: unknown;
  locate(path: PlanPath): PlanLocation;
  locateKey(path: PlanPath): PlanLocation;
}

interface Draft {
  path: Array<string | number>;
  message: string;
  /** Point at the key of the last path element rather than its value. */
  atKey?: boolean;
  /** Locate this path instead of `path` (a missing field is shown at its parent's key). */
  at?: Array<string | number>;
}

function valueAt(data: unknown, path: PlanPath): unknown {
  let value = data;
  for (const part of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[String(part)];
  }
  return value;
}

/** Hides what looks like a password in a value that is echoed in a message (`//user:***@`, `password=***`). */
export function maskSecrets(text: string): string {
  return text.replace(/(\/\/[^/:@\s]*:)[^@\s]*@/g, '$1***@').replace(/(password\s*=\s*)[^\s&;]+/gi, '$1***');
}

export function describeValue(value: unknown): string {
  if (value === null) return 'nothing (null)';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') {
    const shown = maskSecrets(value);
    return `the string ${JSON.stringify(shown.length > 60 ? `${shown.slice(0, 57)}...` : shown)}`;
  }
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}

const expectedNames: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
};

function sizeMessage(issue: Extract<ZodIssue, { code: 'too_small' | 'too_big' }>): string {
  const bound = Number(issue.code === 'too_small' ? issue.minimum : issue.maximum);
  const small = issue.code === 'too_small';
  if (issue.origin === 'string') {
    if (small && bound === 1) return 'must not be empty';
    return `must be at ${small ? 'least' : 'most'} ${bound} characters long`;
  }
  if (issue.origin === 'array') {
    if (small && bound === 1) return 'must have at least one item';
    return `must have at ${small ? 'least' : 'most'} ${bound} items`;
  }
  if (issue.inclusive === false) return `must be ${small ? 'greater' : 'less'} than ${bound}`;
  return `must be at ${small ? 'least' : 'most'} ${bound}`;
}

function isDefaultMessage(message: string): boolean {
  return /^(Invalid|Too (big|small)|Unrecognized)/.test(message);
}

/** Does a union branch fail because the value has another type altogether? */
function isTypeMismatch(branch: readonly ZodIssue[]): boolean {
  return branch.some(
    (issue) =>
      issue.path.length === 0 &&
      (issue.code === 'invalid_type' ||
        (issue.code === 'invalid_union' && issue.errors.length > 0 && issue.errors.every(isTypeMismatch))),
  );
}

function draftsFor(issue: ZodIssue, base: Array<string | number>, ctx: IssueContext): Draft[] {
  const path = [...base, ...toPlanPath(issue.path)];
  const value = valueAt(ctx.data, path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownFieldsAt(ctx.schema, path, ctx.data);
      // Only as many as can be reported: a file with thousands of unknown keys is the wrong file.
      return issue.keys.slice(0, MAX_REPORTED_ISSUES).map((key) => {
        const hint = didYouMean(key, known);
        const list =
          hint === '' && known.length > 0 && known.length <= 16 ? `; known fields here: ${known.join(', ')}` : '';
        return { path: [...path, key], message: `unknown field "${key}"${hint}${list}`, atKey: true };
      });
    }
    case 'invalid_type': {
      if (value === undefined) {
        const last = path[path.length - 1];
        return [{ path, message: `required field "${String(last)}" is missing`, atKey: true, at: path.slice(0, -1) }];
      }
      const expected = expectedNames[issue.expected] ?? issue.expected;
      // A field's own message (the schema's `error`) says how to write it.
      const advice = isDefaultMessage(issue.message) ? '' : `; ${issue.message}`;
      return [{ path, message: `expected ${expected}, got ${describeValue(value)}${advice}` }];
    }
    case 'invalid_union':
      return unionDrafts(issue, path, value, ctx);
    case 'too_small':
    case 'too_big':
      return [{ path, message: isDefaultMessage(issue.message) ? sizeMessage(issue) : issue.message }];
    case 'invalid_value': {
      if (value === undefined) {
        const last = path[path.length - 1];
        const allowed = issue.values.length === 1 ? ` (${JSON.stringify(issue.values[0])})` : '';
        return [
          {
            path,
            message: `required field "${String(last)}" is missing${allowed}`,
            atKey: true,
            at: path.slice(0, -1),
          },
        ];
      }
      const values = issue.values.map((v) => String(v));
      if (values.length === 1) {
        return [{ path, message: `must be ${JSON.stringify(issue.values[0])}, not ${describeValue(value)}` }];
      }
      const got = typeof value === 'string' ? `"${maskSecrets(value)}"` : describeValue(value);
      const hint = typeof value === 'string' ? didYouMean(value, values) : '';
      return [{ path, message: `${got} is not one of: ${values.join(', ')}${hint}` }];
    }
    case 'invalid_format': {
      if (!isDefaultMessage(issue.message)) return [{ path, message: issue.message }];
      const web = path[path.length - 1] === 'endpoint' ? ' (http:// or https://)' : '';
      const what =
        issue.format === 'url'
          ? `a valid URL${web}`
          : issue.format === 'regex'
            ? 'in the expected form'
            : `a valid ${issue.format}`;
      return [{ path, message: `${describeValue(value)} is not ${what}` }];
    }
    case 'invalid_key':
    case 'invalid_element':
      return issue.issues.flatMap((inner) => draftsFor(inner, path, ctx));
    default:
      return [{ path, message: issue.message }];
  }
}

function unionDrafts(
  issue: Extract<ZodIssue, { code: 'invalid_union' }>,
  path: Array<string | number>,
  value: unknown,
  ctx: IssueContext,
): Draft[] {
  if (issue.discriminator !== undefined && issue.errors.length === 0 && 'options' in issue) {
    const kinds = (issue.options ?? []).map((option) => String(option));
    const list = `known ${issue.discriminator}s: ${kinds.join(', ')}`;
    if (value === undefined) {
      return [
        {
          path,
          message: `required field "${issue.discriminator}" is missing; ${list}`,
          atKey: true,
          at: path.slice(0, -1),
        },
      ];
    }
    const hint = typeof value === 'string' ? didYouMean(value, kinds) : '';
    const got = typeof value === 'string' ? `"${value}"` : describeValue(value);
    return [{ path, message: `unknown ${issue.discriminator} ${got}; ${list}${hint}` }];
  }
  const forms = formsAt(ctx.schema, path);
  const generic = (): Draft[] => [
    {
      path,
      message: `expected ${forms.length > 0 ? `one of: ${forms.join(', ')}` : 'another value'}; got ${describeValue(value)}`,
    },
  ];
  if (issue.errors.length === 0) return generic();
  const viable = issue.errors.filter((branch) => !isTypeMismatch(branch));
  if (viable.length === 0) return generic();
  const drafted = viable.map((branch) => branch.flatMap((inner) => draftsFor(inner, path, ctx)));
  if (drafted.length === 1) return drafted[0] ?? generic();
  const fewest = Math.min(...drafted.map((d) => d.length));
  const best = drafted.filter((d) => d.length === fewest);
  if (best.length === 1) return best[0] ?? generic();
  // Several forms fit equally badly. Unknown fields are the likely mistake: name them, with the
  // nearest field of any form.
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const known = knownFieldsAt(ctx.schema, path, ctx.data);
    const unknown = Object.keys(value).filter((key) => !known.includes(key));
    if (unknown.length > 0) {
      return unknown.map((key) => ({
        path: [...path, key],
        message: `unknown field "${key}"; expected one of: ${forms.join(', ')}${didYouMean(key, known)}`,
        atKey: true,
      }));
    }
  }
  return generic();
}

/** Plan issues for a failed parse, sorted by position, without duplicates, at most MAX_REPORTED_ISSUES. */
export function planIssuesFromZod(issues: readonly ZodIssue[], ctx: IssueContext): PlanIssue[] {
  const seen = new Set<string>();
  const out: PlanIssue[] = [];
  const drafts = issues.slice(0, MAX_REPORTED_ISSUES).flatMap((issue) => draftsFor(issue, [], ctx));
  const total = issues.reduce((sum, issue) => sum + (issue.code === 'unrecognized_keys' ? issue.keys.length : 1), 0);
  for (const draft of drafts) {
    if (out.length >= MAX_REPORTED_ISSUES) break;
    const target = draft.at ?? draft.path;
    const where = draft.atKey ? ctx.locateKey(target) : ctx.locate(target);
    const planIssue: PlanIssue = { ...where, path: formatPath(draft.path), message: draft.message };
    const id = `${planIssue.line}:${planIssue.column}:${planIssue.path}:${planIssue.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(planIssue);
  }
  return capIssues(out, Math.max(out.length, total));
}
