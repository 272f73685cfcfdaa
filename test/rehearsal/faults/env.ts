/**
 * A FaultEnvironment for the injectors' tests: nothing in it unless the test gives it (a target the
 * test does not give is missing, as in a rehearsal without it).
 */
import { createSilentLogger } from '../../../src/common/logger.js';
import type { FaultEnvironment } from '../../../src/rehearsal/faults/types.js';

export function testFaultEnv(overrides: Partial<FaultEnvironment> = {}): FaultEnvironment {
  return {
    proxyFor: {},
    pidOf: () => undefined,
    restart: () => Promise.reject(new Error('this test environment restarts nothing')),
    httpShim: {},
    databaseUrl: { source: 'postgres://nowhere.invalid/source', target: 'postgres://nowhere.invalid/target' },
    appRole: 'app',
    tables: [],
    resolveSecret: () => {
      throw new Error('this test environment resolves no secret');
    },
    logger: createSilentLogger(),
    ...overrides,
  };
}
