import { describe, expect, it } from 'vitest';
import { AdapterError, HandoffError, HoldRunError, InputError, TimeoutError } from './errors.js';
import { backoffBaseMs, backoffDelayMs, decideRetry, errorCodeOf, isTransient, type RetryPolicy } from './retry.js';

const policy: RetryPolicy = {
  initialIntervalMs: 100,
  backoffCoefficient: 2,
  maximumIntervalMs: 1000,
  maximumAttempts: 5,
  jitter: 0.2,
  nonRetryable: [],
};

function raw(code: string, message = `failed: ${code}`): Error {
  return Object.assign(new Error(message), { code });
}

describe('backoff', () => {
  it('grows by the coefficient from the initial interval and stops at the maximum interval', () => {
    expect([1, 2, 3, 4, 5, 6].map((attempt) => backoffBaseMs(policy, attempt))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
    expect(backoffBaseMs({ ...policy, backoffCoefficient: 1 }, 4)).toBe(100);
    expect(backoffBaseMs({ ...policy, backoffCoefficient: 10 }, 400)).toBe(1000);
  });

  it('draws the jitter below the base delay, within the jitter share, never above the maximum', () => {
    expect(backoffDelayMs(policy, 2, 0)).toBe(200);
    expect(backoffDelayMs(policy, 2, 0.5)).toBe(180);
    expect(backoffDelayMs(policy, 2, 0.999999)).toBe(160);
    for (let attempt = 1; attempt <= 10; attempt++) {
      for (const random of [0, 0.1, 0.37, 0.5, 0.9, 0.999]) {
        const delay = backoffDelayMs(policy, attempt, random);
        const base = backoffBaseMs(policy, attempt);
        expect(delay).toBeLessThanOrEqual(Math.min(base, policy.maximumIntervalMs));
        expect(delay).toBeGreaterThanOrEqual(Math.floor(base * 0.8));
      }
    }
  });

  it('gives a fixed delay without jitter and clamps out-of-range random numbers', () => {
    const flat = { ...policy, jitter: 0 };
    expect(backoffDelayMs(flat, 3, 0.7)).toBe(400);
    expect(backoffDelayMs(policy, 1, -3)).toBe(100);
    expect(backoffDelayMs(policy, 1, 7)).toBe(80);
  });

  it('caps at the maximum interval even when it is below the initial interval', () => {
    expect(backoffBaseMs({ ...policy, initialIntervalMs: 5000 }, 1)).toBe(1000);
  });
});

describe('isTransient', () => {
  it('trusts the retryable flag of a HandoffError', () => {
    expect(isTransient(new AdapterError('router unreachable', { retryable: true }))).toBe(true);
    expect(isTransient(new TimeoutError('slow'))).toBe(true);
    expect(isTransient(new AdapterError('bad credentials'))).toBe(false);
    expect(isTransient(new InputError('bad table name'))).toBe(false);
  });

  it('judges an adapter error without the flag by its cause, and never retries hold, lease or internal errors', () => {
    expect(isTransient(new AdapterError('query failed', { cause: raw('40001') }))).toBe(true);
    expect(isTransient(new AdapterError('query failed', { cause: raw('42P01') }))).toBe(false);
    expect(isTransient(new InputError('bad', { cause: raw('ECONNRESET') }))).toBe(false);
    expect(isTransient(new HoldRunError('source cannot take traffic', { retryable: true }))).toBe(false);
    expect(isTransient(new HandoffError('lease.lost', 'taken over', { retryable: true }))).toBe(false);
    expect(isTransient(new HandoffError('internal', 'bug', { retryable: true }))).toBe(false);
  });

  it('classifies raw socket and PostgreSQL errors by their code', () => {
    for (const code of [
      'ECONNREFUSED',
      'ECONNRESET',
      'ETIMEDOUT',
      '57P01',
      '57P03',
      '08006',
      '40001',
      '40P01',
      '53300',
    ]) {
      expect(isTransient(raw(code)), code).toBe(true);
    }
    for (const code of ['ENOENT', 'EACCES', '42P01', '23505', '28P01', '08P01']) {
      expect(isTransient(raw(code)), code).toBe(false);
    }
    expect(isTransient(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isTransient(new Error('boom'))).toBe(false);
    expect(isTransient('a string')).toBe(false);
    expect(isTransient(new Error('wrapped', { cause: raw('ECONNREFUSED') }))).toBe(true);
    expect(isTransient(new AggregateError([raw('ECONNREFUSED'), raw('ETIMEDOUT')]))).toBe(true);
    expect(isTransient(new AggregateError([raw('ECONNREFUSED'), raw('EACCES')]))).toBe(false);
  });

  it('names the code of an attempt: the HandoffError code, else the raw code or its cause', () => {
    expect(errorCodeOf(new TimeoutError('slow'))).toBe('timeout');
    expect(errorCodeOf(raw('57P01'))).toBe('57P01');
    expect(errorCodeOf(new Error('x', { cause: raw('ECONNRESET') }))).toBe('ECONNRESET');
    expect(errorCodeOf(new Error('x'))).toBe('error');
  });
});

describe('decideRetry', () => {
  const transient = new AdapterError('refused', { retryable: true });

  it('retries a transient error with the backoff delay until the attempts run out', () => {
    expect(decideRetry(policy, 1, transient, 0)).toEqual({ retry: true, delayMs: 100 });
    expect(decideRetry(policy, 4, transient, 0)).toEqual({ retry: true, delayMs: 800 });
    expect(decideRetry(policy, 5, transient, 0)).toEqual({ retry: false, why: 'exhausted' });
    expect(decideRetry({ ...policy, maximumAttempts: 1 }, 1, transient, 0)).toEqual({ retry: false, why: 'exhausted' });
  });

  it('does not retry an error that is not transient, nor one whose code the policy lists', () => {
    expect(decideRetry(policy, 1, new Error('boom'), 0)).toEqual({ retry: false, why: 'not-transient' });
    expect(decideRetry({ ...policy, nonRetryable: ['adapter'] }, 1, transient, 0)).toEqual({
      retry: false,
      why: 'non-retryable-code',
    });
    expect(decideRetry({ ...policy, nonRetryable: ['40P01'] }, 1, raw('40P01'), 0)).toEqual({
      retry: false,
      why: 'non-retryable-code',
    });
    expect(decideRetry({ ...policy, nonRetryable: ['40P01'] }, 1, raw('40001'), 0)).toEqual({
      retry: true,
      delayMs: 100,
    });
  });
});
