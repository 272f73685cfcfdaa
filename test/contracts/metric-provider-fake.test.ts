import { createFakeProvider, ok } from '../../src/analysis/providers/fake.js';
import { metricProviderContract } from './metric-provider.shared.js';

const reading = ok({ value: 1 }, 10);

metricProviderContract('fake (recorded series)', {
  setup: async () => {},
  teardown: async () => {},
  healthy: () =>
    createFakeProvider({
      fields: ['value'],
      series: [
        { source: reading, target: reading },
        { source: reading, target: reading },
      ],
    }),
  unreachable: () =>
    createFakeProvider({
      series: [
        {
          source: { status: 'error', reason: 'connection refused', retryable: true },
          target: { status: 'error', reason: 'connection refused', retryable: true },
        },
      ],
    }),
  empty: () => createFakeProvider({ series: [] }),
  omitted: { hanging: 'a recorded series answers at once: nothing can hang' },
});
