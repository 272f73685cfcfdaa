/**
 * A rehearsal's result as the runner writes it (`<stateDir>/rehearsal/result.json`, a RehearsalResult:
 * src/rehearsal/faults/types.ts), read back and validated for the rehearsal report, the run report and
 * the dashboard; and the rows both report formats and the dashboard show (a violated invariant first).
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { InputError } from '../common/errors.js';
import type { FaultRecord, RehearsalResult } from '../rehearsal/faults/types.js';
import type { Invariants } from '../rehearsal/check/invariants.js';

export const REHEARSAL_DIR = 'rehearsal';
export const RESULT_FILE = 'result.json';

const count = z.number().int().min(0);
const KINDS = ['network', 'process', 'http', 'long-transaction', 'ddl', 'password-change'] as const;
const REACTIONS = ['none', 'retry', 'throttle', 'hold', 'rollback', 'failback', 'resume'] as const;

const faultSchema = z.object({
  name: z.string(),
  kind: z.enum(KINDS),
  stage: z.string(),
  injectedAt: z.string().nullable(),
  clearedAt: z.string().nullable(),
  reaction: z.enum(REACTIONS),
  recoveryMs: z.number().min(0).nullable(),
  failedRequests: count,
  detail: z.string(),
});

const invariantsSchema = z.object({
  lost: count,
  unexpected: count,
  duplicated: count,
  stale: count,
  wrongTotal: count,
  negativeValue: count,
  readYourWritesViolations: count,
  dataIdentical: z.boolean(),
  auditValid: z.boolean(),
  leftBehind: z.array(z.string()),
});

/** Loose: fields the runner adds (its `run`) are kept for `/api/rehearsal`. */
export const rehearsalResultSchema = z.looseObject({
  ok: z.boolean(),
  runId: z.string().optional(),
  /** The runner's `run` (its id, state, executors): its id names the run when `runId` does not. */
  run: z.looseObject({ id: z.string().nullable().optional() }).optional(),
  faults: z.array(faultSchema),
  invariants: invariantsSchema,
  violated: z.array(z.string()).optional(),
  historyFile: z.string().optional(),
  reportFiles: z.array(z.string()).optional(),
});

export function rehearsalResultFile(stateDir: string): string {
  return path.join(stateDir, REHEARSAL_DIR, RESULT_FILE);
}

/** The state directory's rehearsal result; null when there is none; a malformed file is bad input (named). */
export function readRehearsalResult(stateDir: string): RehearsalResult | null {
  const file = rehearsalResultFile(stateDir);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (error) {
    if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return null;
    throw new InputError(`cannot read ${file}`, { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new InputError(`${file}: not JSON`);
  }
  const result = rehearsalResultSchema.safeParse(parsed);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new InputError(`${file}: ${issue?.path.join('.') || 'result'}: ${issue?.message}`);
  }
  const { runId: named, violated, historyFile, reportFiles, ...rest } = result.data;
  const runId = named ?? rest.run?.id ?? undefined;
  return {
    ...rest,
    ...(runId !== undefined ? { runId } : {}),
    ...(violated !== undefined ? { violated } : {}),
    ...(historyFile !== undefined ? { historyFile } : {}),
    ...(reportFiles !== undefined ? { reportFiles } : {}),
  };
}

export interface InvariantRow {
  /** The name as `-o json` gives it. */
  name: keyof Invariants;
  /** What it says, for a reader. */
  label: string;
  value: string;
  holds: boolean;
}

const COUNTS: Array<[keyof Invariants, string]> = [
  ['lost', 'acknowledged writes lost'],
  ['unexpected', 'writes present that no client sent'],
  ['duplicated', 'writes applied more than once'],
  ['stale', 'acknowledged writes a later read did not see'],
  ['wrongTotal', 'bank reads with a wrong total'],
  ['negativeValue', 'bank reads with a negative balance'],
  ['readYourWritesViolations', 'read-your-writes violations'],
];

/** Every invariant with its value; the violated ones first (in their own order). */
export function invariantRows(invariants: Invariants): InvariantRow[] {
  const rows: InvariantRow[] = COUNTS.map(([name, label]) => {
    const value = invariants[name] as number;
    return { name, label, value: String(value), holds: value === 0 };
  });
  rows.push(
    {
      name: 'dataIdentical',
      label: 'data identical on the writer at the end',
      value: invariants.dataIdentical ? 'yes' : 'no',
      holds: invariants.dataIdentical,
    },
    {
      name: 'auditValid',
      label: 'audit trail valid',
      value: invariants.auditValid ? 'yes' : 'no',
      holds: invariants.auditValid,
    },
    {
      name: 'leftBehind',
      label: 'replication objects or processes left behind',
      value: invariants.leftBehind.length === 0 ? 'none' : invariants.leftBehind.join(', '),
      holds: invariants.leftBehind.length === 0,
    },
  );
  return [...rows.filter((r) => !r.holds), ...rows.filter((r) => r.holds)];
}

/** The columns of a fault's row, as text (each format escapes them its own way); a fault never injected says so. */
export const FAULT_HEADERS = [
  'fault',
  'kind',
  'stage',
  'injected at',
  'cleared at',
  'what it did',
  'reaction',
  'recovery',
  'failed requests',
] as const;

export function faultCells(
  fault: FaultRecord,
  format: { time: (iso: string | null) => string; ms: (ms: number | null) => string },
): string[] {
  const injected = fault.injectedAt !== null;
  return [
    fault.name,
    fault.kind,
    fault.stage,
    injected ? format.time(fault.injectedAt) : 'not injected',
    injected ? format.time(fault.clearedAt) : '–',
    fault.detail,
    fault.reaction,
    !injected ? '–' : fault.recoveryMs === null ? 'never' : format.ms(fault.recoveryMs),
    String(fault.failedRequests),
  ];
}
