import { describe, expect, it } from 'vitest';
import { PlanError, type PlanIssue } from '../common/errors.js';
import { parseYaml } from './yaml-document.js';

function issues(text: string): PlanIssue[] {
  try {
    parseYaml(text, 'f.yaml');
  } catch (error) {
    if (error instanceof PlanError) return error.issues;
    throw error;
  }
  return [];
}

function one(text: string): string {
  const found = issues(text);
  expect(found).toHaveLength(1);
  const issue = found[0] as PlanIssue;
  return `${issue.line}:${issue.column} ${issue.path}: ${issue.message}`;
}

describe('parseYaml', () => {
  it('returns plain values and positions of values and keys', () => {
    const parsed = parseYaml('a:\n  b: [1, 2, {c: x}]\n', 'f.yaml');
    expect(parsed.value).toEqual({ a: { b: [1, 2, { c: 'x' }] } });
    expect(parsed.locate(['a', 'b', 2, 'c'])).toEqual({ file: 'f.yaml', line: 2, column: 17, path: 'a.b[2].c' });
    expect(parsed.locateKey(['a', 'b'])).toMatchObject({ line: 2, column: 3 });
    // A path that does not exist is placed at its nearest existing ancestor.
    expect(parsed.locate(['a', 'b', 7, 'z'])).toMatchObject({ line: 2, column: 6, path: 'a.b[7].z' });
    expect(parsed.locateKey(['a', 'missing'])).toMatchObject({ line: 2, column: 3 });
  });

  it('accepts a few anchors and aliases, a leading --- and a trailing empty document', () => {
    const parsed = parseYaml('---\nbase: &b { x: 1 }\nuse: *b\n---\n', 'f.yaml');
    expect(parsed.value).toEqual({ base: { x: 1 }, use: { x: 1 } });
  });

  it('reads YAML 1.2 core values: yes/no/on/off stay strings', () => {
    expect(parseYaml('a: yes\nb: off\nc: true\nd: 0x1f\n', 'f.yaml').value).toEqual({
      a: 'yes',
      b: 'off',
      c: true,
      d: 31,
    });
  });

  it('refuses duplicate keys, naming the key and both places', () => {
    expect(one('a: 1\nb:\n  c: 1\n  c: 2\n')).toBe(
      '4:3 b.c: duplicate key "c" (first at line 3, column 3); YAML would silently keep only the last one, so remove one of them',
    );
  });

  it('refuses tags outside the core schema, merge keys and complex keys', () => {
    expect(one('a: !!binary aGVsbG8=\n')).toBe(
      '1:13 a: the YAML tag !!binary is not allowed in a plan; write a plain value',
    );
    expect(one('a: !custom 1\n')).toMatch(/^1:4 : Unresolved tag: !custom/);
    expect(one('x: &x {a: 1}\ny:\n  <<: *x\n')).toBe(
      '3:3 y["<<"]: merge keys ("<<") are not supported in plan files; write the fields out',
    );
    expect(one('? [a, b]\n: 1\n')).toBe('1:3 : keys must be plain names, not lists, mappings, aliases or empty');
  });

  it('refuses many aliases before expanding any of them', () => {
    const text = `x: &x 1\n${Array.from({ length: 250 }, (_, i) => `k${i}: *x`).join('\n')}\n`;
    expect(one(text)).toBe('2:5 : 250 aliases; a plan may use at most 200 (is this a YAML alias bomb?)');
  });

  it('refuses deep nesting that the pre-scan lets through', () => {
    const text = `a: ${'['.repeat(70)}${']'.repeat(70)}\n`;
    expect(one(text)).toMatch(/nested more than 64 levels deep/);
  });

  it('reports a syntax error once per problem, at its place', () => {
    expect(one('a: 1\n\tb: 2\n')).toBe('2:1 : Tabs are not allowed as indentation');
    expect(issues('a: "open\n').map((issue) => issue.message)).toContain('Missing closing "quote');
  });

  it('says what the document is when it is not a mapping', () => {
    expect(one('just text\n')).toBe(
      '1:1 : the document is a string (just text); a plan is a mapping that starts with "apiVersion:"',
    );
    expect(one('- a\n')).toMatch(/the document is a list/);
    expect(one('# only a comment\n')).toMatch(/the plan file is empty/);
  });
});
