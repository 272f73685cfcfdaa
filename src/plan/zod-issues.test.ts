import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PlanError } from '../common/errors.js';
import { loadPlanText } from './load.js';

const minimal = fs.readFileSync(
  path.resolve(import.meta.dirname, '../../test/fixtures/plans/minimal-local.yaml'),
  'utf8',
);

function firstProblem(from: string, to: string): string {
  expect(minimal).toContain(from);
  try {
    loadPlanText(minimal.replace(from, to), 'p.yaml');
  } catch (error) {
    if (!(error instanceof PlanError)) throw error;
    const issue = error.issues[0];
    return issue === undefined ? '' : `${issue.line}:${issue.column} ${issue.path}: ${issue.message}`;
  }
  throw new Error('accepted');
}

describe('schema problems, as a person reads them', () => {
  it('a typo in a secret reference names the field it meant', () => {
    expect(firstProblem('{ fromEnv: SOURCE_APP_DB }', '{ fromEnvv: SOURCE_APP_DB }')).toBe(
      '10:21 spec.source.databases.app.url.fromEnvv: unknown field "fromEnvv"; expected one of: a string, { fromEnv }, { fromFile }, { fromSecret }; did you mean "fromEnv"?',
    );
  });

  it('two references at once, or a number, list the allowed forms', () => {
    expect(firstProblem('{ fromEnv: SOURCE_APP_DB }', '{ fromEnv: SOURCE_APP_DB, fromFile: x }')).toBe(
      '10:19 spec.source.databases.app.url: expected one of: a string, { fromEnv }, { fromFile }, { fromSecret }; got a mapping',
    );
    expect(firstProblem('{ fromEnv: SOURCE_APP_DB }', '5432')).toMatch(
      /^10:19 .*expected one of: .*; got number 5432$/,
    );
  });

  it('a bad variable name inside a reference is reported at the name', () => {
    expect(firstProblem('{ fromEnv: SOURCE_APP_DB }', '{ fromEnv: "source-db" }')).toBe(
      '10:30 spec.source.databases.app.url.fromEnv: not an environment variable name',
    );
  });

  it('a missing kind lists the kinds', () => {
    expect(firstProblem('platform: { kind: local }', 'platform: { }')).toBe(
      '8:5 spec.source.platform.kind: required field "kind" is missing; known kinds: kubernetes, local',
    );
  });

  it('a value outside an enum lists the allowed values and the nearest', () => {
    expect(firstProblem('tables: ["public.*"]', 'tables: ["public.*"]\n      fence: { method: revok }')).toBe(
      '18:24 spec.data[0].fence.method: "revok" is not one of: revoke, read-only; did you mean "revoke"?',
    );
  });

  it('a missing literal field says it is missing, and what it should be', () => {
    expect(firstProblem('kind: Migration\n', '')).toBe('2:1 kind: required field "kind" is missing ("Migration")');
  });

  it('a wrong apiVersion says which one', () => {
    expect(firstProblem('apiVersion: handoff.dev/v1alpha1', 'apiVersion: v1')).toBe(
      '2:13 apiVersion: must be "handoff.dev/v1alpha1", not the string "v1"',
    );
  });

  it('sizes and bounds are said in words', () => {
    expect(firstProblem('tables: ["public.*"]', 'tables: []')).toBe(
      '17:15 spec.data[0].tables: must have at least one item',
    );
    expect(firstProblem('tables: ["public.*"]', 'tables: [""]')).toBe(
      '17:16 spec.data[0].tables[0]: must not be empty',
    );
    expect(firstProblem('name: minimal-local', 'name: Minimal_Local')).toBe(
      '5:9 metadata.name: must be lowercase letters, digits and dashes (like a Kubernetes name)',
    );
  });

  it('a list where a mapping belongs says what it got', () => {
    expect(firstProblem('  rollback: { automatic: true }', '  rollback: [true]')).toBe(
      '18:13 spec.rollback: expected a mapping, got a list',
    );
  });

  it('never echoes what looks like a password in a value it quotes', () => {
    const problem = firstProblem(
      'platform: { kind: local }\n',
      'platform: { kind: local }\n    endpoint: "postgresql://app:Hunter2pw@db/app"\n',
    );
    expect(problem).toBe(
      '9:15 spec.source.endpoint: the string "postgresql://app:***@db/app" is not a valid URL (http:// or https://)',
    );
    expect(
      firstProblem('tables: ["public.*"]', 'tables: ["public.*"]\n      fence: { method: "password=Hunter2pw" }'),
    ).toBe('18:24 spec.data[0].fence.method: "password=***" is not one of: revoke, read-only');
  });
});
