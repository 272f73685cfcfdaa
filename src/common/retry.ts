/**
 * Retry policy: which errors are transient, and how long to wait before the next attempt. Modelled
 * on Temporal's RetryPolicy (initialInterval, backoffCoefficient, maximumInterval, maximumAttempts,
 * non-retryable error types), with jitter added so that many runs retrying against the same
 * database do not retry in step. Pure: the executor does the waiting (engine/step-retry.ts).
 */
import { HandoffError, type ErrorCode } from './errors.js';

export interface RetryPolicy {
  /** Delay before the second attempt, in milliseconds. */
  initialIntervalMs: number;
  /** Each further delay is the previous one times this (>= 1). */
  backoffCoefficient: number;
  /** No delay is longer than this, in milliseconds. */
  maximumIntervalMs: number;
  /** Attempts in all, the first included; 1 means no retry. */
  maximumAttempts: number;
  /** Share of each delay drawn at random (0..1): the delay lies in [d * (1 - jitter), d]. */
  jitter: number;
  /** Error codes never retried, even when transient: HandoffError codes, errno codes or SQLSTATEs. */
  nonRetryable: readonly string[];
}

/** Temporal's defaults, bounded: three attempts, 1 s then 2 s (less jitter), never more than 30 s. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  initialIntervalMs: 1000,
  backoffCoefficient: 2,
  maximumIntervalMs: 30_000,
  maximumAttempts: 3,
  jitter: 0.2,
  nonRetryable: [],
};

/** Socket errors that say the peer may answer on a later try. */
const TRANSIENT_ERRNO: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/**
 * PostgreSQL SQLSTATEs worth another attempt: the server is shutting down or starting
 * (57P01, 57P02, 57P03), the connection broke (08000, 08001, 08003, 08006), the transaction lost
 * a race (40001 serialization failure, 40P01 deadlock), or too many connections (53300).
 */
const TRANSIENT_SQLSTATE: ReadonlySet<string> = new Set([
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08006',
  '40001',
  '40P01',
  '53300',
]);

/** Codes that are never retried whatever the flag says: the executor handles them otherwise. */
const NEVER_RETRIED: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['lease.lost', 'lease.held', 'run.hold', 'internal']);

/** The errno code or SQLSTATE of a raw Node or pg error, if it has one. */
export function rawCode(error: unknown): string | null {
  if (typeof error !== 'object' || error === null) return null;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : null;
}

/**
 * The code an attempt failed with, as recorded in events: a HandoffError's code, else the errno
 * code or SQLSTATE of the error (or of its cause), else `error`.
 */
export function errorCodeOf(error: unknown): string {
  if (error instanceof HandoffError) return error.code;
  return rawCode(error) ?? causeCode(error) ?? 'error';
}

function causeCode(error: unknown): string | null {
  return error instanceof Error && error.cause !== undefined ? rawCode(error.cause) : null;
}

function rawTransient(error: unknown): boolean {
  const code = rawCode(error);
  if (code !== null && (TRANSIENT_ERRNO.has(code) || TRANSIENT_SQLSTATE.has(code))) return true;
  // pg reports a connection the server dropped mid-query without a code.
  if (error instanceof Error && /^Connection terminated unexpectedly$/.test(error.message)) return true;
  // Node reports a failed connect to several addresses as an AggregateError of the attempts.
  if (error instanceof AggregateError) return error.errors.length > 0 && error.errors.every(rawTransient);
  return false;
}

/**
 * Whether another attempt may succeed. A HandoffError says so with its `retryable` flag (set by
 * the adapter that knows, e.g. a refused connection or an HTTP 5xx); one that does not set it and
 * is an adapter or timeout error is judged by its cause. A raw error is transient when its errno
 * code or SQLSTATE is in the lists above. Lease, hold and internal errors never are.
 */
export function isTransient(error: unknown, depth = 0): boolean {
  if (depth > 5) return false;
  if (error instanceof HandoffError) {
    if (NEVER_RETRIED.has(error.code)) return false;
    if (error.retryable) return true;
    if (error.code !== 'adapter' && error.code !== 'timeout') return false;
    return error.cause !== undefined && isTransient(error.cause, depth + 1);
  }
  if (rawTransient(error)) return true;
  return error instanceof Error && error.cause !== undefined && isTransient(error.cause, depth + 1);
}

/** The delay before attempt `attempt + 1` without jitter: initial * coefficient^(attempt-1), capped. */
export function backoffBaseMs(policy: RetryPolicy, attempt: number): number {
  const exponent = Math.max(0, attempt - 1);
  const raw = policy.initialIntervalMs * policy.backoffCoefficient ** exponent;
  return Math.min(policy.maximumIntervalMs, Number.isFinite(raw) ? raw : policy.maximumIntervalMs);
}

/**
 * The delay after failed attempt `attempt` (1-based), jittered: `random` is a number in [0, 1)
 * (Math.random in production, fixed in tests). Never negative, never above maximumInterval.
 */
export function backoffDelayMs(policy: RetryPolicy, attempt: number, random: number): number {
  const base = backoffBaseMs(policy, attempt);
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  const unit = Math.min(1, Math.max(0, random));
  return Math.max(0, Math.round(base * (1 - jitter * unit)));
}

export type RetryDecision =
  { retry: true; delayMs: number } | { retry: false; why: 'not-transient' | 'non-retryable-code' | 'exhausted' };

/** What to do after attempt `attempt` failed with `error`. */
export function decideRetry(policy: RetryPolicy, attempt: number, error: unknown, random: number): RetryDecision {
  if (policy.nonRetryable.includes(errorCodeOf(error)) || policy.nonRetryable.includes(rawCode(error) ?? '')) {
    return { retry: false, why: 'non-retryable-code' };
  }
  if (!isTransient(error)) return { retry: false, why: 'not-transient' };
  if (attempt >= policy.maximumAttempts) return { retry: false, why: 'exhausted' };
  return { retry: true, delayMs: backoffDelayMs(policy, attempt, random) };
}
