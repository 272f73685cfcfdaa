import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isDuration } from '../common/duration.js';
import { planJsonSchema } from './json-schema.js';
import { renderPlanReference } from './plan-reference.js';
import { duration } from './schema.js';

const committed = path.resolve(import.meta.dirname, '../../docs/plan-reference.md');

describe('docs/plan-reference.md', () => {
  it('is what `npm run docs:plan-reference` generates from the schema (run it after changing the schema)', () => {
    expect(fs.readFileSync(committed, 'utf8')).toBe(renderPlanReference());
  });

  it('lists every field of the DESIGN.md example with its type and default', () => {
    const text = renderPlanReference();
    expect(text).toContain(
      '| `spec.traffic.reads.steps` | list of number (at least 1 item, each > 0, each ≤ 100) | `[1,5,25,50,100]` |',
    );
    expect(text).toContain('| `spec.source.databases.<name>.url` | string or secret reference | required |');
    expect(text).toContain('| `spec.traffic.router.listen` | string | required | (kind "builtin")');
    expect(text).toContain('| `router.error_rate` |');
  });
});

describe('JSON Schema for editors', () => {
  const schema = planJsonSchema();

  it('names itself and describes the input people write', () => {
    expect(schema).toMatchObject({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      $id: expect.stringMatching(/^https:\/\/handoff\.dev\/schemas\/v1alpha1\//),
      type: 'object',
      additionalProperties: false,
      required: ['apiVersion', 'kind', 'metadata', 'spec'],
      properties: { apiVersion: { const: 'handoff.dev/v1alpha1' }, kind: { const: 'Migration' } },
    });
  });

  it('gives durations a pattern an editor can check, equal to what the loader accepts', () => {
    const json = JSON.stringify(schema);
    const patterns = new Set([...json.matchAll(/"pattern":"([^"]*ms\|s\|m\|h[^"]*)"/g)].map((match) => match[1]));
    expect(patterns.size).toBe(1);
    const pattern = new RegExp(JSON.parse(`"${[...patterns][0]}"`) as string);
    for (const sample of ['500ms', '30s', '1.5m', '1h', '1m30s', '30 seconds', '', 's', '1d', '-1s', '1.s']) {
      expect(pattern.test(sample), sample).toBe(isDuration(sample));
      expect(duration.safeParse(sample).success, sample).toBe(isDuration(sample));
    }
  });
});
