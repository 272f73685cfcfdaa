import { describe, expect, it } from 'vitest';
import { baseName, objectNames } from './names.js';

describe('object names', () => {
  it('derives lowercase identifiers from the run id and database', () => {
    expect(baseName('Run-2026/11/26', 'Orders')).toBe('handoff_run_2026_11_26_orders');
    expect(objectNames('r1', 'app').marker).toBe('"handoff"."handoff_r1_app_marker"');
  });

  it('keeps long names short and still distinct', () => {
    const a = baseName('a'.repeat(80), 'db');
    const b = baseName(`${'a'.repeat(79)}b`, 'db');
    expect(a.length).toBeLessThanOrEqual(40);
    expect(a).not.toBe(b);
    expect(`${a}_dirty_seq`.length).toBeLessThan(64);
  });
});
