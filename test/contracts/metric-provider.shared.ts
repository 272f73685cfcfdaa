/**
 * The contract every MetricProvider meets (see src/analysis/provider.ts), run against the fake and
 * each real provider with real backends. A harness makes providers in the situations the contract
 * talks about; it may leave out a situation that cannot exist for it, saying why in `omitted`: the
 * case is then skipped with that reason in its name ("(skipped: ...)").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MetricProvider } from '../../src/analysis/provider.js';
import type { SiteName } from '../../src/analysis/measurement.js';

export interface ProviderHarness {
  /** Starts backends (servers, databases). */
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** A provider whose backend has data for both sites. `produce` (if given) makes data after start. */
  healthy(): MetricProvider;
  produce?(): Promise<void>;
  /**
   * A provider whose backend cannot be reached. Left out only where the backend is the site itself
   * (http probes: an unreachable site is a measurement, error_rate 1, tested with the provider).
   */
  unreachable?(): MetricProvider;
  /** A provider whose backend answers but has nothing for the window (omit where that cannot be). */
  empty?(): MetricProvider;
  /** A provider whose backend accepts and never answers, with its own timeout set to `hangTimeoutMs`. */
  hanging?(): MetricProvider;
  hangTimeoutMs?: number;
  /** Why a situation is left out (required for each one left out); printed in the skipped case's name. */
  omitted?: Partial<Record<Situation, string>>;
  /** Secrets the provider was given; none may appear in any reading. */
  secrets?: string[];
  windowMs?: number;
}

const both: readonly SiteName[] = ['source', 'target'];

/** The situations a harness may leave out. */
export type Situation = 'unreachable' | 'empty' | 'hanging';
const SITUATIONS: readonly Situation[] = ['unreachable', 'empty', 'hanging'];

export function metricProviderContract(name: string, harness: ProviderHarness): void {
  describe(`MetricProvider contract: ${name}`, () => {
    const windowMs = harness.windowMs ?? 60_000;
    const opened: MetricProvider[] = [];
    const track = (p: MetricProvider): MetricProvider => {
      opened.push(p);
      return p;
    };
    beforeAll(() => harness.setup());
    afterAll(async () => {
      for (const p of opened) await p.stop();
      await harness.teardown();
    });

    it('refuses to measure before start', async () => {
      const p = track(harness.healthy());
      await expect(p.measure({ sites: both, windowMs })).rejects.toThrow(/measure while new/);
    });

    it('measures every requested site, and only those, with finite values it declares', async () => {
      const p = track(harness.healthy());
      await p.start();
      await p.start(); // idempotent
      await harness.produce?.();
      const m = await p.measure({ sites: both, windowMs });
      expect(Object.keys(m.sites).sort()).toEqual(['source', 'target']);
      for (const site of both) {
        const r = m.sites[site];
        expect(r?.status, JSON.stringify(r)).toBe('ok');
        if (r?.status !== 'ok') continue;
        expect(r.samples).toBeGreaterThan(0);
        expect(Object.keys(r.values).length).toBeGreaterThan(0);
        for (const [field, value] of Object.entries(r.values)) {
          expect(p.fields).toContain(field);
          expect(Number.isFinite(value)).toBe(true);
        }
      }
      expect(m.windowMs).toBeGreaterThanOrEqual(0);
      expect(Math.abs(m.at - Date.now())).toBeLessThan(60_000);
      const onlyTarget = await p.measure({ sites: ['target'], windowMs });
      expect(Object.keys(onlyTarget.sites)).toEqual(['target']);
    });

    const has = (situation: Situation): boolean => harness[situation] !== undefined;
    const title = (text: string, situation: Situation): string =>
      has(situation)
        ? text
        : `${text} (skipped: ${harness.omitted?.[situation] ?? `the ${name} harness gives no ${situation} provider`})`;

    it('says why it leaves out any situation of the contract', () => {
      const unexplained = SITUATIONS.filter((situation) => !has(situation) && !harness.omitted?.[situation]);
      expect(unexplained, `${name}: give omitted.<situation> for each situation left out`).toEqual([]);
    });

    it.skipIf(!has('unreachable'))(
      title('reports an unreachable backend as Error readings, without throwing', 'unreachable'),
      async () => {
        const p = track(harness.unreachable!());
        await p.start();
        const m = await p.measure({ sites: both, windowMs });
        for (const site of both) {
          const r = m.sites[site];
          expect(r?.status, JSON.stringify(r)).toBe('error');
          if (r?.status === 'error') expect(r.reason.length).toBeGreaterThan(5);
        }
        for (const secret of harness.secrets ?? []) expect(JSON.stringify(m)).not.toContain(secret);
      },
    );

    it.skipIf(!has('empty'))(title('reports an empty result as NoData, not as a value', 'empty'), async () => {
      const p = track(harness.empty!());
      await p.start();
      const m = await p.measure({ sites: both, windowMs });
      for (const site of both) expect(m.sites[site]?.status, JSON.stringify(m.sites[site])).toBe('no-data');
    });

    it.skipIf(!has('hanging'))(
      title('bounds a backend that never answers: Error within its timeout', 'hanging'),
      async () => {
        const p = track(harness.hanging!());
        await p.start();
        const started = Date.now();
        const m = await p.measure({ sites: both, windowMs });
        const elapsed = Date.now() - started;
        expect(m.sites.target?.status).toBe('error');
        expect(elapsed).toBeLessThan((harness.hangTimeoutMs ?? 1000) + 5000);
      },
    );

    it('stops idempotently and refuses to measure after stop', async () => {
      const p = track(harness.healthy());
      await p.start();
      await p.stop();
      await p.stop();
      await expect(p.measure({ sites: both, windowMs })).rejects.toThrow(/measure while stopped/);
    });
  });
}
