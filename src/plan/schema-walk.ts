/**
 * Finds the parts of the zod schema that apply at a path of a (possibly invalid) document, so error
 * messages can name the fields and kinds that exist there.
 */
import { z } from 'zod';
import type { PlanPath } from './path.js';

function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  let current = schema;
  for (let i = 0; i < 20; i++) {
    if (
      current instanceof z.ZodOptional ||
      current instanceof z.ZodNullable ||
      current instanceof z.ZodDefault ||
      current instanceof z.ZodPrefault ||
      current instanceof z.ZodReadonly
    ) {
      current = current.unwrap();
    } else if (current instanceof z.ZodPipe) {
      current = current.in;
    } else {
      return current;
    }
  }
  return current;
}

function literalValues(schema: z.core.$ZodType | undefined): unknown[] {
  if (schema === undefined) return [];
  const inner = unwrap(schema);
  return inner instanceof z.ZodLiteral ? [...inner.values] : [];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The concrete schemas (unions expanded; a discriminated union narrowed by the value's kind). */
function candidates(schema: z.core.$ZodType, value: unknown): z.core.$ZodType[] {
  const inner = unwrap(schema);
  if (inner instanceof z.ZodDiscriminatedUnion) {
    const key = inner.def.discriminator;
    const options = inner.options.flatMap((option) => candidates(option, value));
    if (!isRecord(value)) return options;
    const matching = options.filter(
      (option) => option instanceof z.ZodObject && literalValues(option.shape[key]).includes(value[key]),
    );
    return matching.length > 0 ? matching : options;
  }
  if (inner instanceof z.ZodUnion) return inner.options.flatMap((option) => candidates(option, value));
  return [inner];
}

/** The schemas that describe the value at `path` of `data`. */
export function schemasAt(root: z.core.$ZodType, path: PlanPath, data: unknown): z.core.$ZodType[] {
  let current = candidates(root, data);
  let value = data;
  for (const part of path) {
    value = isRecord(value) ? value[String(part)] : Array.isArray(value) ? value[Number(part)] : undefined;
    const next: z.core.$ZodType[] = [];
    for (const schema of current) {
      let child: z.core.$ZodType | undefined;
      if (schema instanceof z.ZodObject) child = schema.shape[String(part)];
      else if (schema instanceof z.ZodArray && typeof part === 'number') child = schema.element;
      else if (schema instanceof z.ZodRecord) child = schema.valueType;
      if (child !== undefined) next.push(...candidates(child, value));
    }
    current = next;
  }
  return current;
}

/** The field names of the objects that apply at `path`. */
export function knownFieldsAt(root: z.core.$ZodType, path: PlanPath, data: unknown): string[] {
  const keys = new Set<string>();
  for (const schema of schemasAt(root, path, data)) {
    if (schema instanceof z.ZodObject) for (const key of Object.keys(schema.shape)) keys.add(key);
  }
  return [...keys];
}

/** The forms a union at `path` allows, for a message: `{ fromEnv }, { fromFile }` or `a string`. */
export function formsAt(root: z.core.$ZodType, path: PlanPath): string[] {
  return schemasAt(root, path, undefined).map((schema) => {
    if (schema instanceof z.ZodObject) return `{ ${Object.keys(schema.shape).join(', ')} }`;
    if (schema instanceof z.ZodString) return 'a string';
    if (schema instanceof z.ZodNumber) return 'a number';
    if (schema instanceof z.ZodBoolean) return 'true or false';
    if (schema instanceof z.ZodArray) return 'a list';
    if (schema instanceof z.ZodRecord) return 'a mapping';
    return 'a value';
  });
}
