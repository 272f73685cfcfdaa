/**
 * Toxic bodies as Toxiproxy's API takes them: `{name, type, stream, toxicity, attributes}`, with
 * Toxiproxy's defaults (stream downstream, toxicity 1.0, name `<type>_<stream>`, every attribute 0).
 * Parsing validates an untyped body and throws an InputError naming the field; nothing is cast.
 */
import { InputError } from '../common/errors.js';

export const TOXIC_TYPES = [
  'latency',
  'bandwidth',
  'slow_close',
  'timeout',
  'reset_peer',
  'slicer',
  'limit_data',
] as const;
export type ToxicType = (typeof TOXIC_TYPES)[number];
export type ToxicStream = 'upstream' | 'downstream';

/** A toxic as the API shows it: every attribute present. */
export interface ToxicSpec {
  name: string;
  type: ToxicType;
  stream: ToxicStream;
  /** Probability (0 to 1) that a connection is affected; drawn once per connection. */
  toxicity: number;
  attributes: Record<string, number>;
}

/** What callers give: only `type` is required. */
export interface ToxicInput {
  type: ToxicType;
  name?: string;
  stream?: ToxicStream;
  toxicity?: number;
  attributes?: Record<string, number>;
}

/** A partial update: attributes are merged into the toxic's, toxicity replaced (as Toxiproxy does). */
export interface ToxicPatch {
  toxicity?: number;
  attributes?: Record<string, number>;
}

interface AttributeRule {
  /** What the number means, for messages. */
  unit: string;
  min: number;
}

const ms: AttributeRule = { unit: 'milliseconds', min: 0 };

/** Each type's attributes, in the order Toxiproxy lists them. */
const ATTRIBUTES: Record<ToxicType, Record<string, AttributeRule>> = {
  latency: { latency: ms, jitter: ms },
  bandwidth: { rate: { unit: 'KB/s, 0 for no limit', min: 0 } },
  slow_close: { delay: ms },
  timeout: { timeout: { unit: 'milliseconds, 0 to hold forever', min: 0 } },
  reset_peer: { timeout: ms },
  slicer: {
    average_size: { unit: 'bytes', min: 1 },
    size_variation: { unit: 'bytes', min: 0 },
    delay: { unit: 'microseconds', min: 0 },
  },
  limit_data: { bytes: { unit: 'bytes', min: 0 } },
};

const NAME_PATTERN = /^[A-Za-z0-9_.-]{1,128}$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function bad(field: string, message: string): InputError {
  return new InputError(`bad request body: ${field}: ${message}`);
}

export function isToxicType(value: unknown): value is ToxicType {
  return typeof value === 'string' && (TOXIC_TYPES as readonly string[]).includes(value);
}

function parseToxicity(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    throw bad('toxicity', `must be a number from 0 to 1, got ${JSON.stringify(value)}`);
  }
  return value;
}

function parseAttributes(type: ToxicType, value: unknown, base: Record<string, number>): Record<string, number> {
  const given = value ?? {};
  if (!isRecord(given)) throw bad('attributes', `must be an object, got ${JSON.stringify(value)}`);
  const rules = ATTRIBUTES[type];
  const result = { ...base };
  for (const [key, raw] of Object.entries(given)) {
    const rule = rules[key];
    if (rule === undefined) {
      throw bad(`attributes.${key}`, `${type} has no such attribute; it takes ${Object.keys(rules).join(', ')}`);
    }
    if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw < rule.min) {
      throw bad(
        `attributes.${key}`,
        `must be a whole number >= ${rule.min} (${rule.unit}), got ${JSON.stringify(raw)}`,
      );
    }
    result[key] = raw;
  }
  const slicerAverage = result.average_size;
  const slicerVariation = result.size_variation;
  if (type === 'slicer') {
    if (slicerAverage === undefined || slicerAverage < 1) {
      throw bad('attributes.average_size', 'slicer needs an average_size of at least 1 byte');
    }
    if (slicerVariation !== undefined && slicerVariation >= slicerAverage) {
      throw bad('attributes.size_variation', `must be less than average_size (${slicerAverage})`);
    }
  }
  return result;
}

function defaults(type: ToxicType): Record<string, number> {
  return Object.fromEntries(Object.keys(ATTRIBUTES[type]).map((key) => [key, 0]));
}

/** A new toxic from an API body or a library call. */
export function parseToxicInput(body: unknown): ToxicSpec {
  if (!isRecord(body)) throw bad('(body)', 'must be a JSON object');
  const { type } = body;
  if (type === undefined) throw bad('type', `missing; give one of ${TOXIC_TYPES.join(', ')}`);
  if (!isToxicType(type)) {
    throw bad('type', `invalid toxic type ${JSON.stringify(type)}; give one of ${TOXIC_TYPES.join(', ')}`);
  }
  const stream = body.stream ?? 'downstream';
  if (stream !== 'upstream' && stream !== 'downstream') {
    throw bad('stream', `must be upstream or downstream, got ${JSON.stringify(stream)}`);
  }
  const name = body.name === undefined || body.name === '' ? `${type}_${stream}` : body.name;
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    throw bad('name', `must be 1 to 128 letters, digits, "_", "." or "-", got ${JSON.stringify(name)}`);
  }
  const toxicity = body.toxicity === undefined ? 1 : parseToxicity(body.toxicity);
  const attributes = parseAttributes(type, body.attributes, defaults(type));
  return { name, type, stream, toxicity, attributes };
}

/** The toxic after an update body; the toxic itself is not changed. */
export function applyToxicPatch(toxic: ToxicSpec, body: unknown): ToxicSpec {
  if (!isRecord(body)) throw bad('(body)', 'must be a JSON object');
  const toxicity = body.toxicity === undefined ? toxic.toxicity : parseToxicity(body.toxicity);
  const attributes = parseAttributes(toxic.type, body.attributes, toxic.attributes);
  return { ...toxic, toxicity, attributes };
}

/** A proxy or toxic name as it may appear in a path segment. */
export function isValidName(name: string): boolean {
  return NAME_PATTERN.test(name);
}
