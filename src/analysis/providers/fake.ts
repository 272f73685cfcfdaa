/**
 * A metric provider that replays a recorded series: the n-th `measure` returns the n-th entry.
 * For unit tests of checks and gates, and for the contract suite. After the series ends it
 * returns NoData (`the recorded series ended`), never invented values.
 */
import { InternalError } from '../../common/errors.js';
import type { Measurement, SiteName, SiteReading } from '../measurement.js';
import type { MetricProvider } from '../provider.js';

export type RecordedStep = Partial<Record<SiteName, SiteReading>>;

export interface FakeProviderOptions {
  series: RecordedStep[];
  fields?: string[];
  /** The clock used for `at`; Date.now unless given. */
  now?: () => number;
}

export interface FakeProvider extends MetricProvider {
  /** How many times `measure` was called. */
  calls(): number;
  /** The windows asked for, in order. */
  windows(): number[];
  started(): boolean;
}

export function createFakeProvider(options: FakeProviderOptions): FakeProvider {
  const now = options.now ?? Date.now;
  let index = 0;
  const windows: number[] = [];
  let state: 'new' | 'started' | 'stopped' = 'new';
  return {
    kind: 'fake',
    fields: options.fields ?? [],
    async start() {
      if (state === 'stopped') throw new InternalError('fake provider: start after stop');
      state = 'started';
    },
    async measure(request) {
      if (state !== 'started') throw new InternalError(`fake provider: measure while ${state}`);
      windows.push(request.windowMs);
      const step = options.series[index];
      index++;
      const sites: Measurement['sites'] = {};
      for (const site of request.sites) {
        sites[site] = step
          ? (step[site] ?? { status: 'no-data', reason: `no ${site} in the recorded step` })
          : { status: 'no-data', reason: 'the recorded series ended' };
      }
      return { at: now(), windowMs: request.windowMs, sites };
    },
    async stop() {
      state = 'stopped';
    },
    calls: () => index,
    windows: () => [...windows],
    started: () => state === 'started',
  };
}

/** A reading with one value field, for recorded series. */
export function ok(
  values: Record<string, number>,
  samples: number,
  extra: Partial<Pick<Extract<SiteReading, { status: 'ok' }>, 'latency'>> = {},
): SiteReading {
  return { status: 'ok', values, samples, ...extra };
}
