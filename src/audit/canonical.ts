/**
 * The canonical encoding that audit hashes and signatures are computed over: JSON with object keys
 * sorted by UTF-16 code units (JavaScript's default sort), no whitespace, strings and numbers as
 * `JSON.stringify` writes them. For the JSON values audit records hold this is the JSON
 * Canonicalization Scheme (RFC 8785). Only plain JSON values are accepted: anything else is a bug
 * in the caller, so it throws rather than guessing an encoding.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonical JSON: ${value} is not a JSON number`);
      return JSON.stringify(value);
    case 'string':
      return JSON.stringify(value);
    case 'object': {
      if (Array.isArray(value)) {
        let out = '[';
        for (let index = 0; index < value.length; index++)
          out += `${index === 0 ? '' : ','}${canonicalJson(value[index])}`;
        return `${out}]`;
      }
      const prototype = Object.getPrototypeOf(value) as unknown;
      if (prototype !== Object.prototype && prototype !== null) {
        throw new TypeError('canonical JSON: only plain objects can be encoded');
      }
      const object = value as Record<string, unknown>;
      // The default sort compares UTF-16 code units, as RFC 8785 asks.
      const keys = Object.keys(object).sort();
      let out = '{';
      let first = true;
      for (const key of keys) {
        const inner = object[key];
        if (inner === undefined) continue;
        out += `${first ? '' : ','}${JSON.stringify(key)}:${canonicalJson(inner)}`;
        first = false;
      }
      return `${out}}`;
    }
    default:
      throw new TypeError(`canonical JSON: a ${typeof value} is not a JSON value`);
  }
}

/**
 * Turns any value a caller puts into audit details into plain JSON, the way JSON.stringify would,
 * plus what it cannot do: bigint becomes its decimal string, an Error its message. Cycles throw.
 */
export function toJsonValue(value: unknown): JsonValue {
  const text = JSON.stringify(value, (_key, inner: unknown) => {
    if (typeof inner === 'bigint') return inner.toString();
    if (inner instanceof Error) return inner.message;
    if (inner instanceof Map) return Object.fromEntries(inner);
    if (inner instanceof Set) return [...inner];
    return inner;
  });
  return text === undefined ? null : (JSON.parse(text) as JsonValue);
}
