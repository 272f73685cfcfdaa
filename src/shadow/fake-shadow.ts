/**
 * An in-memory ShadowControl for engine tests (the fake router carries one): no requests are
 * copied; a test feeds comparison outcomes with `feed`, as the built-in router's mirror would
 * record them, and the engine's shadow stage reads them back through the same interface.
 */
import type { ShadowControl, ShadowStatus } from './control.js';
import { createShadowLedger, type ShadowLedger } from './ledger.js';
import { shadowSettingsSchema } from './settings.js';
import { InputError } from '../common/errors.js';

export interface FakeShadowFeed {
  endpoint: string;
  /** Differing paths (empty: the same answer). */
  paths?: string[];
  /** Record a noise sample with these differing paths first. */
  noisePaths?: string[];
  /** Record it as stale instead of compared. */
  stale?: boolean;
}

export interface FakeShadow extends ShadowControl {
  /** Records outcomes as the mirror would; ignored when no shadow is active. */
  feed(items: FakeShadowFeed[]): void;
  /** Calls made, in order. */
  readonly calls: string[];
}

export function createFakeShadow(now: () => number = Date.now): FakeShadow {
  let ledger: ShadowLedger = createShadowLedger();
  let active = false;
  let since: string | null = null;
  let watermark: number | null = null;
  const calls: string[] = [];
  const status = (after = 0): ShadowStatus => ({
    active,
    since,
    watermark: watermark === null ? null : new Date(watermark).toISOString(),
    pendingStale: 0,
    inFlight: 0,
    ...ledger.report(after),
  });
  return {
    calls,
    async start(settings) {
      calls.push('start');
      const parsed = shadowSettingsSchema.safeParse(settings);
      if (!parsed.success) throw new InputError(`shadow: ${parsed.error.issues[0]?.message ?? 'invalid settings'}`);
      ledger = createShadowLedger();
      active = true;
      since = new Date(now()).toISOString();
      return status();
    },
    async watermark(appliedThrough) {
      calls.push('watermark');
      watermark = Math.max(watermark ?? 0, appliedThrough);
      return status();
    },
    async status(after) {
      return status(after);
    },
    async stop() {
      calls.push('stop');
      active = false;
      return status();
    },
    feed(items) {
      if (!active) return;
      for (const item of items) {
        ledger.countMatched();
        ledger.countMirrored();
        if (item.noisePaths !== undefined) ledger.noiseSample(item.endpoint, item.noisePaths);
        if (item.stale === true) {
          ledger.stale(item.endpoint);
          continue;
        }
        const [method = 'GET', path = '/'] = item.endpoint.split(' ');
        ledger.record(item.endpoint, item.paths ?? [], () => ({
          at: new Date(now()).toISOString(),
          method,
          path,
          endpoint: item.endpoint,
          sourceStatus: 200,
          targetStatus: 200,
          source: '{}',
          target: '{}',
          reread: false,
        }));
      }
    },
  };
}
