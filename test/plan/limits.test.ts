/**
 * Hostile plan files are refused quickly, measured inside the process (spawning tsx for the CLI
 * takes seconds on a loaded machine; bad-plans.test.ts checks the CLI's exit code for the same
 * inputs). The bound is the issue's: under a second.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlanError } from '../../src/common/errors.js';
import { loadPlanFile } from '../../src/plan/load.js';
import { makeTempDir } from '../support/tmp.js';

function timeRefusal(file: string): { ms: number; error: PlanError } {
  const started = performance.now();
  try {
    loadPlanFile(file);
  } catch (error) {
    const ms = performance.now() - started;
    if (error instanceof PlanError) return { ms, error };
    throw error;
  }
  throw new Error(`${file} was accepted`);
}

describe('loadPlanFile refuses hostile input in under a second', () => {
  let dir = '';
  let cleanup = (): void => {};
  beforeAll(() => {
    ({ dir, cleanup } = makeTempDir());
    // Warm up the parser so the first measurement is not the JIT's.
    fs.writeFileSync(path.join(dir, 'warm.yaml'), 'a: 1\n');
    try {
      loadPlanFile(path.join(dir, 'warm.yaml'));
    } catch {
      // expected: not a plan
    }
  });
  afterAll(() => cleanup());

  it('a 20 MB file, from its size, before reading it', () => {
    const file = path.join(dir, 'huge.yaml');
    fs.writeFileSync(file, Buffer.alloc(20 * 1024 * 1024, 'key: value\n'));
    const { ms, error } = timeRefusal(file);
    expect(error.issues[0]?.message).toMatch(/20971520 bytes; plan files are limited to 1048576 bytes/);
    expect(ms).toBeLessThan(1000);
  });

  it('a billion-laughs alias bomb, before expanding it', () => {
    let text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
    let previous = 'a';
    for (const name of 'bcdefghi') {
      text += `${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]\n`;
      previous = name;
    }
    const file = path.join(dir, 'bomb.yaml');
    fs.writeFileSync(file, text);
    const { ms, error } = timeRefusal(file);
    expect(error.issues[0]).toMatchObject({ line: 2, column: 8 });
    expect(error.issues[0]?.message).toMatch(/alias bomb/);
    expect(ms).toBeLessThan(1000);
  });

  it('a megabyte of nested brackets and of nested list indicators, before the recursive parser sees them', () => {
    for (const [name, text] of [
      ['brackets', `a: ${'['.repeat(400_000)}${']'.repeat(400_000)}\n`],
      ['dashes', `${'- '.repeat(400_000)}x\n`],
    ] as const) {
      const file = path.join(dir, `${name}.yaml`);
      fs.writeFileSync(file, text);
      const { ms, error } = timeRefusal(file);
      expect(error.issues[0]?.message).toMatch(/nested more than 256 levels deep/);
      expect(ms).toBeLessThan(1000);
    }
  });

  it('a megabyte of entries, by counting them before parsing', () => {
    const file = path.join(dir, 'entries.yaml');
    fs.writeFileSync(file, `a: [${'1,'.repeat(500_000)}1]\n`);
    const { ms, error } = timeRefusal(file);
    expect(error.issues[0]?.message).toMatch(/more than 5000 entries/);
    expect(ms).toBeLessThan(1000);
  });

  it('a file with thousands of problems lists the first 50 and counts the rest', () => {
    const file = path.join(dir, 'many.yaml');
    const keys = Array.from({ length: 2000 }, (_, i) => `unknown${i}: 1`).join('\n');
    fs.writeFileSync(file, `apiVersion: handoff.dev/v1alpha1\nkind: Migration\nmetadata: { name: x }\n${keys}\n`);
    const { error } = timeRefusal(file);
    expect(error.issues).toHaveLength(51);
    expect(error.issues[50]?.message).toMatch(/^\d+ more problems not shown$/);
  });
});
