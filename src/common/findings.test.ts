import { describe, expect, it } from 'vitest';
import { findingSchema, noBlockers, sortFindings, type Finding } from './findings.js';

const f = (id: string, severity: Finding['severity']): Finding => ({
  id,
  severity,
  subject: 's',
  message: 'm',
  remediation: '',
});

describe('findings', () => {
  it('sorts blockers first, keeping order within a severity', () => {
    const sorted = sortFindings([f('pg.a', 'info'), f('pg.b', 'blocker'), f('k8s.c', 'warning'), f('pg.d', 'blocker')]);
    expect(sorted.map((x) => x.id)).toEqual(['pg.b', 'pg.d', 'k8s.c', 'pg.a']);
  });

  it('is ok only without blockers', () => {
    expect(noBlockers([f('pg.a', 'warning'), f('pg.b', 'info')])).toBe(true);
    expect(noBlockers([f('pg.a', 'warning'), f('pg.b', 'blocker')])).toBe(false);
  });

  it('validates ids and severities', () => {
    expect(() => findingSchema.parse(f('pg.wal-level', 'blocker'))).not.toThrow();
    expect(() => findingSchema.parse(f('Wal Level', 'blocker'))).toThrow();
    expect(() => findingSchema.parse({ ...f('pg.x', 'info'), severity: 'fatal' })).toThrow();
    expect(() => findingSchema.parse({ ...f('pg.x', 'info'), extra: 1 })).toThrow();
  });
});
