/**
 * The Platform contract (src/platforms/platform.ts), for every implementation: preflight changes
 * nothing; provision converges (a second call changes nothing); quiesce called twice returns the
 * same record and unquiesce restores the site exactly (twice is harmless); teardown leaves nothing
 * of the run and a second teardown is harmless. Findings have the shared shape.
 */
import { describe, expect, it } from 'vitest';
import { findingSchema } from '../../src/common/findings.js';
import { createSilentLogger } from '../../src/common/logger.js';
import type { Platform, PlatformContext } from '../../src/platforms/platform.js';

export interface PlatformFixture {
  source: Platform;
  target: Platform;
  /** Everything observable about a site (objects and their versions, processes); equal means unchanged. */
  snapshot(site: 'source' | 'target'): Promise<unknown>;
  /** What the run left on the target after teardown (should be nothing). */
  leftovers(): Promise<string[]>;
  close(): Promise<void>;
}

const ctx = (runId: string): PlatformContext => ({ runId, logger: createSilentLogger() });

export function platformContract(name: string, make: () => Promise<PlatformFixture>): void {
  describe(`Platform contract: ${name}`, () => {
    it('preflight changes nothing on either site and reports findings in the shared shape', async () => {
      const f = await make();
      try {
        const before = [await f.snapshot('source'), await f.snapshot('target')];
        const findings = [...(await f.source.preflight(ctx('c-1'))), ...(await f.target.preflight(ctx('c-1')))];
        for (const finding of findings) expect(findingSchema.safeParse(finding).success).toBe(true);
        expect([await f.snapshot('source'), await f.snapshot('target')]).toEqual(before);
      } finally {
        await f.close();
      }
    });

    it('provision converges, and teardown removes what it made (twice is harmless)', async () => {
      const f = await make();
      try {
        const first = await f.target.provision(ctx('c-2'));
        expect(first.workloads.length).toBeGreaterThan(0);
        expect(first.workloads.every((w) => w.ready)).toBe(true);
        const after = await f.snapshot('target');
        await f.target.provision(ctx('c-2'));
        expect(await f.snapshot('target')).toEqual(after);
        await f.target.teardown(ctx('c-2'));
        expect(await f.leftovers()).toEqual([]);
        await f.target.teardown(ctx('c-2'));
        expect(await f.leftovers()).toEqual([]);
      } finally {
        await f.close();
      }
    });

    it('quiesce twice returns the same record; unquiesce restores the site exactly, twice harmlessly', async () => {
      const f = await make();
      try {
        const before = await f.snapshot('source');
        const record = await f.source.quiesce(ctx('c-3'));
        expect(JSON.parse(JSON.stringify(record))).toEqual(record);
        expect(await f.source.quiesce(ctx('c-3'))).toEqual(record);
        await f.source.unquiesce(ctx('c-3'), record);
        const restored = await f.snapshot('source');
        await f.source.unquiesce(ctx('c-3'), record);
        expect(await f.snapshot('source')).toEqual(restored);
        expect(restored).toEqual(before);
      } finally {
        await f.close();
      }
    });
  });
}
