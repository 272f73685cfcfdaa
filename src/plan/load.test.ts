import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PlanError } from '../common/errors.js';
import { makeTempDir } from '../../test/support/tmp.js';
import { loadPlanFile, loadPlanText } from './load.js';

const fixtures = path.resolve(import.meta.dirname, '../../test/fixtures/plans');
const designExample = fs.readFileSync(path.join(fixtures, 'design-example.yaml'), 'utf8');

function planError(fn: () => unknown): PlanError {
  try {
    fn();
  } catch (error) {
    if (error instanceof PlanError) return error;
    throw error;
  }
  throw new Error('expected a PlanError, got success');
}

describe('loadPlanText', () => {
  it('loads the DESIGN.md example with defaults filled in and the hash of its bytes', () => {
    const loaded = loadPlanText(designExample, 'plan.yaml');
    expect(loaded.plan.metadata.name).toBe('orders-to-gke');
    expect(loaded.plan.spec.traffic?.reads.steps).toEqual([1, 5, 25, 50, 100]);
    expect(loaded.plan.spec.stages).toEqual([]);
    expect(loaded.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(loaded.hash).toBe(loadPlanText(Buffer.from(designExample), 'other.yaml').hash);
    expect(loaded.hash).not.toBe(loadPlanText(`${designExample}\n# changed\n`, 'plan.yaml').hash);
  });

  it('locates a path at its value, and a missing path at its nearest existing ancestor', () => {
    const loaded = loadPlanText(designExample, 'plan.yaml');
    const lines = designExample.split('\n');
    const index = lines.findIndex((text) => text.includes('steps: [1, 5, 25'));
    const line = index + 1;
    expect(loaded.locate(['spec', 'traffic', 'reads', 'steps', 2])).toEqual({
      file: 'plan.yaml',
      line,
      column: (lines[index] ?? '').indexOf('25') + 1,
      path: 'spec.traffic.reads.steps[2]',
    });
    const missing = loaded.locate(['spec', 'traffic', 'reads', 'methods']);
    expect(missing.line).toBe(line);
    expect(missing.path).toBe('spec.traffic.reads.methods');
  });

  it('names an unknown field, its position and the nearest known field', () => {
    const text = designExample.replace('  name: orders-to-gke', '  name: orders-to-gke\n  lables: { a: b }');
    const error = planError(() => loadPlanText(text, 'plan.yaml'));
    expect(error.issues).toEqual([
      {
        file: 'plan.yaml',
        line: 5,
        column: 3,
        path: 'metadata.lables',
        message: 'unknown field "lables"; did you mean "labels"?',
      },
    ]);
  });

  it('reports every schema problem at once, sorted by position', () => {
    const text = designExample.replace('minSamples: 200', 'minSamples: -1').replace('bake: 30s', 'bake: soon');
    const error = planError(() => loadPlanText(text, 'plan.yaml'));
    expect(error.issues.map((issue) => issue.path)).toEqual(['spec.traffic.reads.bake', 'spec.analysis.minSamples']);
    expect(error.issues[1]?.message).toBe('must be at least 0');
  });

  it('refuses input larger than maxBytes before parsing it', () => {
    const error = planError(() => loadPlanText(designExample, 'plan.yaml', { maxBytes: 100 }));
    expect(error.message).toContain('limited to 100 bytes');
  });
});

describe('loadPlanFile', () => {
  let cleanup = (): void => {};
  afterEach(() => cleanup());

  it('refuses a file over the size limit from its size alone', () => {
    const tmp = makeTempDir();
    cleanup = tmp.cleanup;
    const file = path.join(tmp.dir, 'big.yaml');
    fs.writeFileSync(file, 'a: 1\n');
    fs.truncateSync(file, 5 * 1024 * 1024);
    const error = planError(() => loadPlanFile(file));
    expect(error.issues[0]).toMatchObject({ file, line: 1, column: 1 });
    expect(error.message).toContain(`${5 * 1024 * 1024} bytes`);
  });

  it('says when the file does not exist or is a directory', () => {
    const tmp = makeTempDir();
    cleanup = tmp.cleanup;
    expect(planError(() => loadPlanFile(path.join(tmp.dir, 'nope.yaml'))).message).toContain('no such file');
    expect(planError(() => loadPlanFile(tmp.dir)).message).toContain('directory');
  });

  it('refuses what is not a regular file without waiting on it (a FIFO)', () => {
    const tmp = makeTempDir();
    cleanup = tmp.cleanup;
    const fifo = path.join(tmp.dir, 'plan.fifo');
    execFileSync('mkfifo', [fifo]);
    expect(planError(() => loadPlanFile(fifo)).message).toContain('not a regular file');
  });

  it('loads the committed minimal local plan', () => {
    const loaded = loadPlanFile(path.join(fixtures, 'minimal-local.yaml'));
    expect(loaded.plan.spec.source.platform.kind).toBe('local');
    expect(loaded.plan.spec.traffic).toBeUndefined();
    expect(loaded.plan.spec.data.map((entry) => entry.database)).toEqual(['app']);
  });
});
