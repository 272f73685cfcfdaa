/**
 * The registry: one injector per kind of the plan's rehearsal faults, each declaring its kind, and
 * injectFault dispatching by kind (shown with a real HTTP fault shim and a missing target).
 */
import { describe, expect, it } from 'vitest';
import { HandoffError } from '../../../src/common/errors.js';
import { rehearsalFault } from '../../../src/plan/schema.js';
import { createHttpFaultShim } from '../../../src/rehearsal/faults/http-shim.js';
import { INJECTORS, injectFault } from '../../../src/rehearsal/faults/registry.js';
import { testFaultEnv } from './env.js';

describe('fault registry', () => {
  it('has an injector for every kind the plan schema allows, under its own kind', () => {
    const kinds = rehearsalFault.options.map((option) => option.shape.kind.value).sort();
    expect(Object.keys(INJECTORS).sort()).toEqual(kinds);
    for (const [kind, injector] of Object.entries(INJECTORS)) expect(injector.kind).toBe(kind);
  });

  it('injectFault dispatches by kind', async () => {
    const shim = await createHttpFaultShim({ upstream: 'http://127.0.0.1:1' });
    try {
      const http = rehearsalFault.parse({ kind: 'http', name: 'h', at: { stage: 'shift' }, errorRate: 1 });
      const active = await injectFault(http, testFaultEnv({ httpShim: { target: shim } }));
      expect(active.detail).toMatch(/^100 % of requests answered 503 at the target service/);
      await active.clear();
      const process = rehearsalFault.parse({
        kind: 'process',
        name: 'p',
        at: { stage: 'shift' },
        target: 'executor',
        signal: 'SIGSTOP',
      });
      const error = await injectFault(process, testFaultEnv()).catch((e: unknown) => e);
      expect((error as HandoffError).code).toBe('input.invalid');
      expect((error as Error).message).toMatch(/target executor has no running process/);
    } finally {
      await shim.close();
    }
  });
});
