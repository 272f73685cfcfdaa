/**
 * Reads `handoff router --config FILE` with the plan files' limits: only a regular file, its size
 * checked by stat before reading (and bounded while reading), strict UTF-8, then the plan loader's
 * hardened YAML parse (one document, a mapping, no custom tags, no merge keys, duplicate keys
 * refused, nesting and alias counts bounded before anything is expanded). Every problem is an
 * InputError (exit 2) that says file:line:column.
 */
import fs from 'node:fs';
import { readOpenFileBounded } from '../../common/read-bounded.js';
import type { z } from 'zod';
import { InputError, PlanError, formatPlanIssue, type PlanIssue } from '../../common/errors.js';
import { decodePlanBytes } from '../../plan/decode.js';
import { parseYaml } from '../../plan/yaml-document.js';

/**
 * Router config files have the plan files' size limit (1 MiB, DEFAULT_MAX_PLAN_BYTES in plan/load.ts,
 * not imported so that the router does not load the plan schema): a real one is a few hundred bytes.
 */
export const MAX_ROUTER_CONFIG_BYTES = 1024 * 1024;

/**
 * The shared parser words its messages for plans; a router config is not a plan. Each known phrase is
 * reworded (the router config tests assert that no message mentions a plan).
 */
const REWORDINGS: Array<[RegExp, string]> = [
  [/a plan is a mapping that starts with "apiVersion:"/g, 'a router config is a mapping (listen, admin, sites, ...)'],
  [/not a YAML plan/g, 'not a YAML router config'],
  [/plan files/g, 'router config files'],
  [/this is not a plan/g, 'this is not a router config'],
  [/a plan has a few hundred/g, 'a router config has a few dozen'],
  [/\ba plan\b/g, 'a router config'],
  [/\bin a plan\b/g, 'in a router config'],
];

function reword(message: string): string {
  return REWORDINGS.reduce((text, [pattern, replacement]) => text.replace(pattern, replacement), message);
}

function refuse(issues: PlanIssue[]): never {
  throw new InputError(issues.map((issue) => formatPlanIssue({ ...issue, message: reword(issue.message) })).join('\n'));
}

function readBounded(file: string, max: number): Buffer {
  const unreadable = (error: unknown): InputError => {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (code ?? 'unreadable');
    return new InputError(`--config ${file}: cannot read the file: ${reason}`);
  };
  const tooLarge = (size: string): InputError =>
    new InputError(
      `--config ${file}: the file is ${size} bytes; router config files are limited to ${max} bytes (is this the right file?)`,
    );
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (error) {
    throw unreadable(error);
  }
  // Only regular files: a FIFO would wait for a writer, a device could be endless.
  if (!stat.isFile())
    throw new InputError(
      `--config ${file}: cannot read the file: it is ${stat.isDirectory() ? 'a directory' : 'not a regular file'}`,
    );
  if (stat.size > max) throw tooLarge(String(stat.size));
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error) {
    throw unreadable(error);
  }
  const bytes = readOpenFileBounded(fd, max);
  if (bytes === null) throw tooLarge(`more than ${max}`);
  return bytes;
}

/** Reads, parses and validates a router config file; schema errors name file:line:column and the key. */
export function readRouterConfigFile<T>(file: string, schema: z.ZodType<T>, maxBytes = MAX_ROUTER_CONFIG_BYTES): T {
  const bytes = readBounded(file, maxBytes);
  let value: unknown = {};
  let locate: ((path: Array<string | number>) => { line: number; column: number }) | undefined;
  try {
    const text = decodePlanBytes(bytes, file);
    // An empty file (or only comments) is an empty config: the flags say everything.
    if (text.replace(/#.*$/gm, '').trim() !== '') {
      const parsed = parseYaml(text, file);
      value = parsed.value;
      locate = parsed.locate;
    }
  } catch (error) {
    if (error instanceof PlanError) refuse(error.issues);
    throw error;
  }
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  refuse(
    result.error.issues.map((issue) => {
      const path = issue.path.map((part) => (typeof part === 'number' ? part : String(part)));
      // An unknown key is reported on its object: point at the key itself.
      const unknown = issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined;
      const at = locate?.(unknown === undefined ? path : [...path, unknown]) ?? { line: 1, column: 1 };
      return { file, line: at.line, column: at.column, path: path.join('.'), message: issue.message };
    }),
  );
}
