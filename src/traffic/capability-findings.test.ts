import { describe, expect, it } from 'vitest';
import { findingSchema } from '../common/findings.js';
import { migration, type MigrationInput } from '../plan/schema.js';
import { capabilitiesOf, missingCapabilities } from './capabilities.js';
import { routerCapabilityFindings } from './capability-findings.js';

function spec(router: Record<string, unknown>, steps?: number[]) {
  const input = {
    apiVersion: 'handoff.dev/v1alpha1',
    kind: 'Migration',
    metadata: { name: 'orders' },
    spec: {
      source: { platform: { kind: 'local' }, endpoint: 'http://127.0.0.1:1' },
      target: { platform: { kind: 'local' }, endpoint: 'http://127.0.0.1:2' },
      traffic: { router, ...(steps ? { reads: { steps } } : {}) },
    },
  } as MigrationInput;
  return migration.parse(input).spec;
}

describe('router capability findings', () => {
  it('warns that gateway-api and dns cannot hold requests, and says nothing for the built-in router', () => {
    for (const router of [
      { kind: 'gateway-api', route: 'orders' },
      { kind: 'dns', record: 'orders.example.com' },
    ]) {
      const findings = routerCapabilityFindings(spec(router));
      expect(findings.map((f) => [f.id, f.severity])).toEqual([['router.cannot-hold', 'warning']]);
      expect(findings[0]?.message).toContain('cannot hold requests or keep read-after-write');
      expect(findings[0]?.message).toContain('reads and writes move together');
      for (const finding of findings) expect(findingSchema.safeParse(finding).success).toBe(true);
    }
    expect(routerCapabilityFindings(spec({ kind: 'builtin', listen: '127.0.0.1:0' }))).toEqual([]);
  });

  it('blocks read steps the router cannot express in its integer weights', () => {
    const gateway = routerCapabilityFindings(spec({ kind: 'gateway-api', route: 'orders' }, [0.5, 0.05, 100]));
    expect(gateway.find((f) => f.id === 'router.weight-resolution')).toMatchObject({
      severity: 'blocker',
      message: expect.stringContaining('0.05 %'),
    });
    const dns = routerCapabilityFindings(spec({ kind: 'dns', record: 'orders.example.com' }, [0.5, 1, 25, 100]));
    expect(dns.map((f) => f.id)).toEqual(['router.cannot-hold']);
    const dnsFine = routerCapabilityFindings(spec({ kind: 'dns', record: 'orders.example.com' }, [0.1, 100]));
    expect(dnsFine.find((f) => f.id === 'router.weight-resolution')?.remediation).toContain('multiples of 0.5 %');
    // The built-in router takes any fraction.
    expect(routerCapabilityFindings(spec({ kind: 'builtin', listen: '127.0.0.1:0' }, [0.05, 0.123, 100]))).toEqual([]);
  });

  it('derives the words from the capabilities: the built-in router lacks nothing, weights-only routers lack the same things', () => {
    const builtin = capabilitiesOf(spec({ kind: 'builtin', listen: '127.0.0.1:0' }));
    const gateway = capabilitiesOf(spec({ kind: 'gateway-api', route: 'orders' }));
    const dns = capabilitiesOf(spec({ kind: 'dns', record: 'orders.example.com' }));
    if (!builtin || !gateway || !dns) throw new Error('every router kind has capabilities');
    expect(missingCapabilities(builtin)).toEqual([]);
    expect(missingCapabilities(gateway)).toContain('weights are integers out of 1000: the finest step is 0.1 %');
    expect(missingCapabilities(dns)).toContain('weights are integers out of 200: the finest step is 0.5 %');
    expect(missingCapabilities(dns).some((l) => l.startsWith('cannot hold requests'))).toBe(true);
  });
});
