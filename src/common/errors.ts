/**
 * The one error hierarchy. Every error that crosses a module boundary is a HandoffError with a
 * stable `code`. Only `cli/main.ts` maps errors to exit codes and only HTTP layers map them to
 * statuses (see `exitCodeFor` and `httpStatusFor`).
 */

/** Stable error codes. Scripts may depend on these: add, never rename. */
export type ErrorCode =
  | 'usage' // bad flags or arguments
  | 'plan.invalid' // the plan file is wrong
  | 'input.invalid' // other bad input (URL, API body, table name)
  | 'secret.unresolved' // a secret reference could not be resolved
  | 'not-found' // a run, stage or object does not exist
  | 'not-implemented' // no longer raised (every stage and adapter exists); kept: codes are never removed
  | 'lease.held' // another executor holds the run's lease
  | 'lease.lost' // this executor's lease was taken over
  | 'state.conflict' // the run is not in a state that allows this
  | 'gate.failed' // a gate decided Fail
  | 'check.failed' // the thing checked is not so (differences, blockers)
  | 'run.failed' // a run failed or was rolled back
  | 'adapter' // an adapter (database, router, platform) failed
  | 'timeout' // a bounded wait ran out
  | 'audit.invalid' // the audit trail does not verify
  | 'run.hold' // a step cannot go on safely now: pause the run, undo nothing
  | 'internal'; // a bug

export interface HandoffErrorOptions {
  cause?: unknown;
  retryable?: boolean;
  /** Extra, redactable facts for logs and JSON output. */
  details?: Record<string, unknown>;
}

export class HandoffError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: HandoffErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details ?? {};
  }
}

/** Bad usage of the command line: unknown flag, missing argument, bad value. */
export class UsageError extends HandoffError {
  constructor(message: string, options: HandoffErrorOptions = {}) {
    super('usage', message, options);
  }
}

/** Where in a plan file something is wrong. Lines and columns are 1-based. */
export interface PlanLocation {
  file: string;
  line: number;
  column: number;
  /** The path inside the document, for example `spec.traffic.reads.steps[2]`. */
  path: string;
}

export interface PlanIssue extends PlanLocation {
  message: string;
}

/** One or more problems in a plan file, each with file, line, column and path. */
export class PlanError extends HandoffError {
  readonly issues: PlanIssue[];

  constructor(issues: PlanIssue[], options: HandoffErrorOptions = {}) {
    super('plan.invalid', issues.map(formatPlanIssue).join('\n'), options);
    this.issues = issues;
  }
}

export function formatPlanIssue(issue: PlanIssue): string {
  const where = `${issue.file}:${issue.line}:${issue.column}`;
  return issue.path ? `${where}: ${issue.path}: ${issue.message}` : `${where}: ${issue.message}`;
}

/**
 * Secret references of a plan that could not be resolved (variable unset, file missing). Each issue
 * has file:line:column, the path and the reference's name, never a value. Exit code 2.
 */
export class SecretUnresolvedError extends HandoffError {
  readonly issues: PlanIssue[];

  constructor(issues: PlanIssue[], options: HandoffErrorOptions = {}) {
    super(
      'secret.unresolved',
      `secret references could not be resolved:\n${issues.map(formatPlanIssue).join('\n')}`,
      options,
    );
    this.issues = issues;
  }
}

/** Bad input that is not a plan: a URL, an API body, a table name. */
export class InputError extends HandoffError {
  constructor(message: string, options: HandoffErrorOptions = {}) {
    super('input.invalid', message, options);
  }
}

/** An external system (database, router, Kubernetes API, process) failed. */
export class AdapterError extends HandoffError {
  constructor(message: string, options: HandoffErrorOptions = {}) {
    super('adapter', message, options);
  }
}

export class TimeoutError extends HandoffError {
  constructor(message: string, options: HandoffErrorOptions = {}) {
    super('timeout', message, { retryable: true, ...options });
  }
}

export class GateFailedError extends HandoffError {
  constructor(message: string, options: HandoffErrorOptions = {}) {
    super('gate.failed', message, options);
  }
}

/** The thing checked is not so: differences found, a blocker, an invalid trail. Exit code 1. */
export class CheckFailedError extends HandoffError {
  constructor(message: string, options: HandoffErrorOptions = {}) {
    super('check.failed', message, options);
  }
}

/**
 * A step that must not go on and must not be undone either (the source cannot take traffic back,
 * the gate cannot judge): the executor pauses the run with this message and undoes nothing.
 * `handoff resume` runs the step again.
 */
export class HoldRunError extends HandoffError {
  constructor(message: string, options: HandoffErrorOptions = {}) {
    super('run.hold', message, options);
  }
}

export class InternalError extends HandoffError {
  constructor(message: string, options: HandoffErrorOptions = {}) {
    super('internal', message, options);
  }
}

const exitCodes: Record<ErrorCode, 1 | 2 | 3> = {
  usage: 2,
  'plan.invalid': 2,
  'input.invalid': 2,
  'secret.unresolved': 2,
  'not-found': 2,
  'not-implemented': 3,
  'lease.held': 1,
  'lease.lost': 1,
  'state.conflict': 2,
  'gate.failed': 1,
  'check.failed': 1,
  'run.failed': 1,
  adapter: 1,
  timeout: 1,
  'audit.invalid': 1,
  'run.hold': 1,
  internal: 3,
};

/** Exit codes: 1 the thing checked is not so, 2 bad input, 3 internal error. */
export function exitCodeFor(error: unknown): 1 | 2 | 3 {
  return error instanceof HandoffError ? exitCodes[error.code] : 3;
}

const httpStatuses: Partial<Record<ErrorCode, number>> = {
  usage: 400,
  'plan.invalid': 400,
  'input.invalid': 400,
  'not-found': 404,
  'state.conflict': 409,
  'lease.held': 409,
  'not-implemented': 501,
  timeout: 504,
};

export function httpStatusFor(error: unknown): number {
  return error instanceof HandoffError ? (httpStatuses[error.code] ?? 500) : 500;
}

export function isHandoffError(error: unknown): error is HandoffError {
  return error instanceof HandoffError;
}

/** A message for any thrown value, without a stack. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
