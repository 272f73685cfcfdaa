import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openProcessRegistry } from '../common/children.js';
import { PlanError } from '../common/errors.js';
import { createRedactor } from '../common/redact.js';
import { migration } from '../plan/schema.js';
import { createPlatform, platformFactories } from './registry.js';

function plan(sourceKind: 'kubernetes' | 'local', targetKind: 'kubernetes' | 'local') {
  const site = (kind: string) => (kind === 'local' ? { platform: { kind } } : { platform: { kind, context: 'c', namespace: 'n' } });
  return migration.parse({
    apiVersion: 'handoff.dev/v1alpha1',
    kind: 'Migration',
    metadata: { name: 'm' },
    spec: { source: site(sourceKind), target: site(targetKind) },
  });
}

describe('platform registry', () => {
  it('has a factory for every platform kind of the plan schema, and builds the site it is asked for', () => {
    expect(Object.keys(platformFactories).sort()).toEqual(['kubernetes', 'local']);
    const tmp = { dir: fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-registry-')), cleanup: () => fs.rmSync(tmp.dir, { recursive: true, force: true }) };
    try {
      const deps = { redactor: createRedactor(), stateDir: tmp.dir, registry: openProcessRegistry(path.join(tmp.dir, 'children.json')), databases: {} };
      expect(createPlatform(plan('kubernetes', 'kubernetes'), 'target', deps).site).toBe('target');
      expect(createPlatform(plan('local', 'local'), 'source', deps).site).toBe('source');
      // A kubernetes site paired with a local one is refused: parity and provision copy between clusters.
      expect(() => createPlatform(plan('kubernetes', 'local'), 'source', deps)).toThrow(PlanError);
      expect(() => createPlatform(plan('kubernetes', 'local'), 'source', deps)).toThrow('spec.target.platform.kind');
    } finally {
      tmp.cleanup();
    }
  });
});
