import { describe, expect, it } from 'vitest';
import type { StepContext } from '../data-plane.js';
import { pgEnv } from './data-plane.js';
import { freshHoldCatalog, HOLD_CATALOG_MAX_AGE_MS, type HoldCatalog } from './session.js';

describe('freshHoldCatalog', () => {
  const env = pgEnv({ database: 'shop', tables: ['public.*'] } as Parameters<typeof pgEnv>[0], {});
  const ctx = { runId: 'run-1' } as StepContext;
  const catalog = (runId: string, readAt: number): HoldCatalog => ({
    runId,
    readAt,
    sequences: [],
    recheck: { tables: new Set(), plans: new Map(), functions: new Map() },
  });

  it('is the catalog this run read just before the hold', () => {
    env.holdCatalog.current = catalog('run-1', 1_000);
    expect(freshHoldCatalog(ctx, env, 1_000)).toBe(env.holdCatalog.current);
    expect(freshHoldCatalog(ctx, env, 1_000 + HOLD_CATALOG_MAX_AGE_MS)).toBe(env.holdCatalog.current);
  });

  it('is null before it is read, for another run, when too old, or read in the future (a clock step)', () => {
    env.holdCatalog.current = null;
    expect(freshHoldCatalog(ctx, env, 1_000)).toBeNull();
    env.holdCatalog.current = catalog('run-2', 1_000);
    expect(freshHoldCatalog(ctx, env, 1_000)).toBeNull();
    env.holdCatalog.current = catalog('run-1', 1_000);
    expect(freshHoldCatalog(ctx, env, 1_001 + HOLD_CATALOG_MAX_AGE_MS)).toBeNull();
    expect(freshHoldCatalog(ctx, env, 999)).toBeNull();
  });
});
