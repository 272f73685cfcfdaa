import { describe, expect, it } from 'vitest';
import { findingSchema } from '../../common/findings.js';
import { migration, type MigrationInput } from '../../plan/schema.js';
import { limitations, weightsOnlyRouterFindings } from './limitations.js';

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

describe('weights-only router findings', () => {
  it('warns that gateway-api and dns cannot hold requests, and says nothing for the built-in router', () => {
    for (const router of [{ kind: 'gateway-api', route: 'orders' }, { kind: 'dns', record: 'orders.example.com' }]) {
      const findings = weightsOnlyRouterFindings(spec(router));
      expect(findings.map((f) => [f.id, f.severity])).toEqual([['router.cannot-hold', 'warning']]);
      expect(findings[0]?.message).toContain('cannot hold requests or keep read-after-write');
      for (const finding of findings) expect(findingSchema.safeParse(finding).success).toBe(true);
    }
    expect(weightsOnlyRouterFindings(spec({ kind: 'builtin', listen: '127.0.0.1:0' }))).toEqual([]);
    expect(limitations['gateway-api'].some((l) => l.startsWith('cannot hold requests'))).toBe(true);
    expect(limitations.dns.some((l) => l.startsWith('cannot keep read-after-write'))).toBe(true);
  });

  it('blocks read steps the driver cannot express in its integer weights', () => {
    const gateway = weightsOnlyRouterFindings(spec({ kind: 'gateway-api', route: 'orders' }, [0.5, 0.05, 100]));
    expect(gateway.find((f) => f.id === 'router.weight-resolution')).toMatchObject({ severity: 'blocker', message: expect.stringContaining('0.05 %') });
    const dns = weightsOnlyRouterFindings(spec({ kind: 'dns', record: 'orders.example.com' }, [0.5, 1, 25, 100]));
    expect(dns.map((f) => f.id)).toEqual(['router.cannot-hold']);
    const dnsFine = weightsOnlyRouterFindings(spec({ kind: 'dns', record: 'orders.example.com' }, [0.1, 100]));
    expect(dnsFine.find((f) => f.id === 'router.weight-resolution')?.remediation).toContain('multiples of 0.5 %');
  });
});
