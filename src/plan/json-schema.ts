/**
 * The JSON Schema of plan files, for editors (`handoff schema > migration.schema.json`), made from
 * the zod schema. It describes the input a person writes: fields with defaults are optional.
 * Refinements zod cannot express in JSON Schema (durations, cross-field rules) are checked by
 * `handoff validate`, not by the editor.
 */
import { z } from 'zod';
import { API_VERSION, migration } from './schema.js';

export const SCHEMA_ID = `https://handoff.dev/schemas/${API_VERSION.replace(/^handoff\.dev\//, '')}/migration.schema.json`;

export function planJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(migration, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' });
  const { $schema, ...rest } = generated;
  return { $schema, $id: SCHEMA_ID, title: 'handoff Migration plan', ...rest };
}
