/**
 * The data-plane contract, run against the in-memory fake and against PostgreSQL. It states what the
 * engine relies on: idempotent steps, a target fenced during replication, verification that fails on a
 * lasting difference, lag measured through replication, a cutover whose phases put the write pause
 * exactly under the hold, no lost write through cutover and failback, a finalize that first gives the
 * source the target's last writes, undo and finalize that leave nothing behind.
 */
import { describe, expect, it } from 'vitest';
import { CheckFailedError } from '../../src/common/errors.js';
import type { HandoffEvent } from '../../src/common/events.js';
import { findingSchema } from '../../src/common/findings.js';
import { cutoverInOrder, type DataPlane, type Step, type StepContext } from '../../src/data/data-plane.js';
import type { DataSpec } from '../../src/plan/schema.js';

export type Site = 'source' | 'target';

export interface DataPlaneFixture {
  plane: DataPlane;
  /** A fresh run on fresh, empty, schema-identical databases. */
  ctx: StepContext;
  entry: DataSpec;
  sourceUrl: string;
  targetUrl: string;
  /** The application writes (or overwrites) one row; false when the site refuses it (fenced). */
  appWrite(site: Site, key: string, value: string): Promise<boolean>;
  /** The row's value on a site, or null. */
  read(site: Site, key: string): Promise<string | null>;
  /** Changes a row on the target behind replication's back (as an administrator, past any fence). */
  diverge(key: string, value: string): Promise<void>;
  /** Objects handoff made for this run on either site (replication objects, markers, triggers). */
  leftovers(): Promise<string[]>;
  close(): Promise<void>;
}

async function run(ctx: StepContext, steps: Step[]): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const step of steps) out[step.name] = await step.run(ctx);
  return out;
}

async function undo(ctx: StepContext, steps: Step[]): Promise<void> {
  for (const step of [...steps].reverse()) await step.undo?.(ctx);
}

async function eventually(fixture: DataPlaneFixture, site: Site, key: string, value: string): Promise<void> {
  await expect.poll(() => fixture.read(site, key), { timeout: 20_000, interval: 50 }).toBe(value);
}

export function dataPlaneContract(
  name: string,
  makeFixture: () => Promise<DataPlaneFixture>,
  timeoutMs = 60_000,
): void {
  describe(`data plane contract: ${name}`, () => {
    const withFixture = (title: string, body: (f: DataPlaneFixture) => Promise<void>): void => {
      it(
        title,
        async () => {
          const fixture = await makeFixture();
          try {
            await body(fixture);
          } finally {
            await fixture.close();
          }
        },
        timeoutMs,
      );
    };

    withFixture('preflight reports well-formed findings and no blocker for a clean pair', async (f) => {
      const report = await f.plane.preflight({ entry: f.entry, sourceUrl: f.sourceUrl, targetUrl: f.targetUrl });
      for (const finding of report.findings) expect(() => findingSchema.parse(finding)).not.toThrow();
      expect(report.ok).toBe(true);
      expect(report.findings.some((x) => x.severity === 'blocker')).toBe(false);
    });

    withFixture('replication copies existing rows, carries new writes, and fences the target', async (f) => {
      expect(await f.appWrite('source', 'before', 'b1')).toBe(true);
      await run(f.ctx, f.plane.replicationSteps(f.entry));
      await eventually(f, 'target', 'before', 'b1');
      expect(await f.appWrite('source', 'during', 'd1')).toBe(true);
      await eventually(f, 'target', 'during', 'd1');
      expect(await f.appWrite('target', 'stray', 'x')).toBe(false);
      expect(await f.read('target', 'stray')).toBeNull();
    });

    withFixture('every replication step can be replayed (run twice) with the same result', async (f) => {
      const steps = f.plane.replicationSteps(f.entry);
      for (const step of steps) {
        await step.run(f.ctx);
        await step.run(f.ctx);
      }
      expect(await f.appWrite('source', 'k', 'v')).toBe(true);
      await eventually(f, 'target', 'k', 'v');
      expect(await f.appWrite('target', 'stray', 'x')).toBe(false);
    });

    withFixture('undo of replication (also replayed) removes everything and lifts the target fence', async (f) => {
      const steps = f.plane.replicationSteps(f.entry);
      await run(f.ctx, steps);
      expect((await f.leftovers()).length).toBeGreaterThan(0);
      await undo(f.ctx, steps);
      await undo(f.ctx, steps);
      expect(await f.leftovers()).toEqual([]);
      expect(await f.appWrite('target', 'after-undo', 'ok')).toBe(true);
      expect(await f.appWrite('source', 'after-undo', 'ok')).toBe(true);
    });

    withFixture('cutover moves writes to the target and replicates them back; failback returns them', async (f) => {
      await run(f.ctx, f.plane.replicationSteps(f.entry));
      expect(await f.appWrite('source', 'a', '1')).toBe(true);
      const cut = await run(f.ctx, cutoverInOrder(f.plane.cutoverSteps(f.entry)));
      const opened = Object.entries(cut).find(([name]) => name.endsWith('open-target'))?.[1] as {
        writesRefusedMs: number | null;
      };
      expect(typeof opened.writesRefusedMs).toBe('number');
      expect(await f.read('target', 'a')).toBe('1');
      expect(await f.appWrite('source', 'late', 'x')).toBe(false);
      expect(await f.appWrite('target', 'b', '2')).toBe(true);
      await eventually(f, 'source', 'b', '2');

      await run(f.ctx, f.plane.failbackSteps(f.entry));
      expect(await f.appWrite('target', 'late2', 'x')).toBe(false);
      expect(await f.appWrite('source', 'c', '3')).toBe(true);
      await eventually(f, 'target', 'c', '3');
      expect(await f.read('source', 'b')).toBe('2');
    });

    withFixture('undo of cutover before the target opens gives the source back its writes', async (f) => {
      await run(f.ctx, f.plane.replicationSteps(f.entry));
      const cutover = cutoverInOrder(f.plane.cutoverSteps(f.entry));
      const beforeOpen = cutover.slice(
        0,
        cutover.findIndex((s) => s.name.endsWith('open-target')),
      );
      expect(beforeOpen.length).toBeGreaterThan(0);
      await run(f.ctx, beforeOpen); // everything before opening the target
      expect(await f.appWrite('source', 'fenced', 'x')).toBe(false);
      await undo(f.ctx, beforeOpen);
      expect(await f.appWrite('source', 'back', 'y')).toBe(true);
      await eventually(f, 'target', 'back', 'y');
      expect(await f.appWrite('target', 'stray', 'x')).toBe(false);
    });

    withFixture(
      'undo of a whole cutover, after the target took writes, brings them back and resumes replication',
      async (f) => {
        await run(f.ctx, f.plane.replicationSteps(f.entry));
        const cutover = cutoverInOrder(f.plane.cutoverSteps(f.entry));
        await run(f.ctx, cutover);
        expect(await f.appWrite('target', 'written-after-open', 't1')).toBe(true);
        await undo(f.ctx, cutover);
        expect(await f.read('source', 'written-after-open')).toBe('t1');
        expect(await f.appWrite('target', 'stray', 'x')).toBe(false);
        expect(await f.appWrite('source', 'again', 's1')).toBe(true);
        await eventually(f, 'target', 'again', 's1');
      },
    );

    withFixture('finalize after cutover leaves nothing behind and the old source fenced', async (f) => {
      await run(f.ctx, f.plane.replicationSteps(f.entry));
      await run(f.ctx, cutoverInOrder(f.plane.cutoverSteps(f.entry)));
      const finalize = f.plane.finalizeSteps(f.entry);
      await run(f.ctx, finalize);
      await run(f.ctx, finalize); // replayed
      expect(await f.leftovers()).toEqual([]);
      expect(await f.appWrite('target', 'z', '1')).toBe(true);
      expect(await f.appWrite('source', 'z', '1')).toBe(false);
    });

    withFixture(
      'verification passes on identical sites and fails, naming the database, on a lasting difference',
      async (f) => {
        expect(await f.appWrite('source', 'v1', 'one')).toBe(true);
        const replication = f.plane.replicationSteps(f.entry);
        await run(f.ctx, replication);
        expect(await f.appWrite('source', 'v2', 'two')).toBe(true);
        const steps = f.plane.verificationSteps(f.entry);
        expect(steps.length).toBeGreaterThan(0);
        const events: HandoffEvent[] = [];
        const off = f.ctx.events.on((event) => void events.push(event));
        try {
          await run(f.ctx, steps); // v2 may still be on its way: a pass waits for replication before it judges
          expect(
            events
              .filter((e) => e.type === 'verification-result')
              .map((e) => (e.data as { identical: boolean }).identical),
          ).toEqual([true]);
          await f.diverge('v1', 'tampered');
          const failed = await run(f.ctx, steps).then(
            () => null,
            (error: unknown) => error,
          );
          expect(failed).toBeInstanceOf(CheckFailedError);
          expect((failed as Error).message).toContain(`database ${f.entry.database} differs`);
        } finally {
          off();
          await undo(f.ctx, replication); // servers have few replication workers: leave none running
        }
      },
    );

    withFixture('lag is measured through replication, within its bound, and reported as an event', async (f) => {
      const replication = f.plane.replicationSteps(f.entry);
      await run(f.ctx, replication);
      const events: HandoffEvent[] = [];
      const off = f.ctx.events.on((event) => void events.push(event));
      try {
        const lag = await f.plane.lag(f.ctx, f.entry, 10_000);
        expect(lag).toBeGreaterThanOrEqual(0);
        expect(lag).toBeLessThan(10_000);
        expect(events.filter((e) => e.type === 'replication-lag').map((e) => e.data)).toEqual([
          { database: f.entry.database, lagMs: lag },
        ]);
      } finally {
        off();
        await undo(f.ctx, replication);
      }
    });

    withFixture('lag fails within its bound when no replication carries the heartbeat', async (f) => {
      const started = Date.now();
      await expect(f.plane.lag(f.ctx, f.entry, 1000)).rejects.toThrow();
      expect(Date.now() - started).toBeLessThan(1000 + 5000);
    });

    withFixture(
      'cutover phases: nothing is fenced before the hold, writes move under it, and stay moved after it',
      async (f) => {
        await run(f.ctx, f.plane.replicationSteps(f.entry));
        const phases = f.plane.cutoverSteps(f.entry);
        expect(phases.underHold.length).toBeGreaterThan(0);
        await run(f.ctx, phases.beforeHold);
        expect(await f.appWrite('source', 'before-hold', 'b')).toBe(true);
        expect(await f.appWrite('target', 'stray', 'x')).toBe(false);
        await run(f.ctx, phases.underHold);
        expect(await f.appWrite('source', 'under-hold', 'u')).toBe(false);
        expect(await f.appWrite('target', 'under-hold', 'u')).toBe(true);
        await run(f.ctx, phases.afterHold);
        expect(await f.appWrite('source', 'after-hold', 'a')).toBe(false);
        expect(await f.appWrite('target', 'after-hold', 'a')).toBe(true);
        expect(await f.read('target', 'before-hold')).toBe('b');
        await eventually(f, 'source', 'after-hold', 'a');
        await run(f.ctx, f.plane.finalizeSteps(f.entry));
      },
    );

    withFixture("finalize first gives the source the target's last writes", async (f) => {
      await run(f.ctx, f.plane.replicationSteps(f.entry));
      await run(f.ctx, cutoverInOrder(f.plane.cutoverSteps(f.entry)));
      expect(await f.appWrite('target', 'last', 'L')).toBe(true);
      await run(f.ctx, f.plane.finalizeSteps(f.entry));
      expect(await f.read('source', 'last')).toBe('L');
    });
  });
}
