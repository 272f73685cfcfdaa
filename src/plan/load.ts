/**
 * Loads a plan file: bounded read, strict UTF-8, one YAML document with positions, the zod schema,
 * then the cross-field rules. Every problem is a PlanError whose issues carry file:line:column and
 * the path. Secret references are not resolved here (see secrets.ts): loading touches nothing but
 * the plan file.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { readOpenFileBounded } from '../common/read-bounded.js';
import { PlanError, type PlanLocation } from '../common/errors.js';
import { decodePlanBytes } from './decode.js';
import type { PlanPath } from './path.js';
import { checkRules } from './rules.js';
import { migration, type Migration } from './schema.js';
import { parseYaml } from './yaml-document.js';
import { planIssuesFromZod } from './zod-issues.js';

export const DEFAULT_MAX_PLAN_BYTES = 1024 * 1024;

export interface LoadPlanOptions {
  /** Refuse larger files before reading them. Default 1 MiB. */
  maxBytes?: number;
}

export interface LoadedPlan {
  plan: Migration;
  /** The file name as given (used in every error). */
  file: string;
  /** The text of the file. */
  text: string;
  /** SHA-256 (hex) of the file's bytes. */
  hash: string;
  /** 1-based position of a path in the document (the nearest existing node). */
  locate(path: PlanPath): PlanLocation;
}

function fileIssue(file: string, message: string): PlanError {
  return new PlanError([{ file, line: 1, column: 1, path: '', message }]);
}

function sizeMessage(size: string, max: number): string {
  return `the file is ${size} bytes; plan files are limited to ${max} bytes (is this the right file?)`;
}

/** Reads a regular file of at most `max` bytes, refusing larger ones before reading (stat). */
function readBounded(file: string, max: number): Buffer {
  const unreadable = (error: unknown): PlanError => {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (code ?? 'unreadable');
    return fileIssue(file, `cannot read the plan file: ${reason}`);
  };
  // Only regular files: opening a FIFO would wait for a writer, a device could be endless.
  let kind: fs.Stats;
  try {
    kind = fs.statSync(file);
  } catch (error) {
    throw unreadable(error);
  }
  if (kind.isDirectory()) throw fileIssue(file, 'cannot read the plan file: it is a directory');
  if (!kind.isFile()) throw fileIssue(file, 'cannot read the plan file: it is not a regular file');
  if (kind.size > max) throw fileIssue(file, sizeMessage(String(kind.size), max));
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error) {
    throw unreadable(error);
  }
  let size: number;
  try {
    size = fs.fstatSync(fd).size;
  } catch (error) {
    fs.closeSync(fd);
    throw unreadable(error);
  }
  if (size > max) {
    fs.closeSync(fd);
    throw fileIssue(file, sizeMessage(String(size), max));
  }
  // The file may grow while it is read: the bound holds regardless.
  const bytes = readOpenFileBounded(fd, max);
  if (bytes === null) throw fileIssue(file, sizeMessage(`more than ${max}`, max));
  return bytes;
}

/** Loads and validates a plan file (schema and rules). Synchronous; throws PlanError. */
export function loadPlanFile(file: string, options: LoadPlanOptions = {}): LoadedPlan {
  const max = options.maxBytes ?? DEFAULT_MAX_PLAN_BYTES;
  return loadPlanText(readBounded(file, max), file, options);
}

/** Validates plan text or bytes as if read from `file`. Throws PlanError. */
export function loadPlanText(input: string | Buffer, file: string, options: LoadPlanOptions = {}): LoadedPlan {
  const max = options.maxBytes ?? DEFAULT_MAX_PLAN_BYTES;
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : input;
  if (bytes.length > max) throw fileIssue(file, sizeMessage(String(bytes.length), max));
  const hash = createHash('sha256').update(bytes).digest('hex');
  const text = decodePlanBytes(bytes, file);
  const parsed = parseYaml(text, file);
  const result = migration.safeParse(parsed.value);
  if (!result.success) {
    throw new PlanError(
      planIssuesFromZod(result.error.issues, {
        schema: migration,
        data: parsed.value,
        locate: parsed.locate,
        locateKey: parsed.locateKey,
      }),
    );
  }
  const plan = result.data;
  const ruleIssues = checkRules(plan, { file, locate: parsed.locate, locateKey: parsed.locateKey });
  if (ruleIssues.length > 0) throw new PlanError(ruleIssues);
  return { plan, file, text, hash, locate: parsed.locate };
}
