import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { PlanError } from '../src/common/errors.js';
import { loadPlanFile, loadPlanText } from '../src/plan/load.js';
import type { Benchmark } from './harness.js';

const fixture = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  'test',
  'fixtures',
  'plans',
  'design-example.yaml',
);

function aliasBomb(): string {
  let text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
  let previous = 'a';
  for (const name of 'bcdefghi') {
    text += `${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]\n`;
    previous = name;
  }
  return text;
}

/** Milliseconds until loadPlanFile refuses the file (the slowest of `rounds`). */
function refusalMs(file: string, rounds = 5): number {
  let worst = 0;
  for (let i = 0; i < rounds; i++) {
    const start = process.hrtime.bigint();
    try {
      loadPlanFile(file);
      throw new Error(`${file} was accepted`);
    } catch (error) {
      if (!(error instanceof PlanError)) throw error;
    }
    worst = Math.max(worst, Number(process.hrtime.bigint() - start) / 1e6);
  }
  return worst;
}

/**
 * Loading a plan (YAML with positions, schema, rules) against a bare `yaml.parse` of the same text;
 * and how fast hostile files are refused (the issue: under a second each).
 */
export const planBenchmark: Benchmark = {
  name: 'plan',
  async run() {
    const text = fs.readFileSync(fixture, 'utf8');
    const n = 300;
    const time = (fn: () => unknown): number => {
      for (let i = 0; i < 20; i++) fn();
      const start = process.hrtime.bigint();
      for (let i = 0; i < n; i++) fn();
      return Number(process.hrtime.bigint() - start) / 1e6 / n;
    };
    const baselineMs = time(() => parse(text));
    const loadMs = time(() => loadPlanText(text, 'plan.yaml'));

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-bench-plan-'));
    try {
      const files: Record<string, string | Buffer> = {
        'alias bomb': aliasBomb(),
        '20 MB file': Buffer.alloc(20 * 1024 * 1024, 'key: value\n'),
        'deep nesting (1 MB)': `a: ${'['.repeat(500_000)}${']'.repeat(500_000)}`.slice(0, 1024 * 1024 - 1),
        'many entries (1 MB)': `a: [${'1,'.repeat(400_000)}1]\n`,
        'largest accepted shape (5000 entries)': `apiVersion: handoff.dev/v1alpha1\nkind: Migration\nmetadata: { name: x }\n${Array.from({ length: 4990 }, (_, i) => `k${i}: 1`).join('\n')}\n`,
      };
      const refusals: Record<string, number> = {};
      for (const [name, content] of Object.entries(files)) {
        const file = path.join(dir, `${name.replace(/\W+/g, '-')}.yaml`);
        fs.writeFileSync(file, content);
        refusals[name] = refusalMs(file);
      }
      return {
        benchmark: 'plan',
        baseline: 'yaml.parse of the DESIGN.md example (no positions, no validation)',
        measurements: [
          { name: 'baseline yaml.parse', value: baselineMs, unit: 'ms per plan' },
          { name: 'loadPlanText', value: loadMs, unit: 'ms per plan' },
          ...Object.entries(refusals).map(([name, ms]) => ({
            name: `refuse ${name}`,
            value: ms,
            unit: 'ms (slowest of 5)',
          })),
        ],
        ratios: { 'loadPlanText/yaml.parse time': loadMs / Math.max(baselineMs, 0.0001) },
        targets: Object.entries(refusals).map(([name, ms]) => ({
          name: `refuse ${name}`,
          target: 'under 1000 ms',
          met: ms < 1000,
        })),
      };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
