/**
 * RFC 6902 JSON Patch over plain JSON values, with RFC 6901 pointers. Pure: the input is never
 * modified; the result is a new value. An operation that cannot apply (missing path, failed
 * `test`, index out of range) throws a JsonPatchError naming the operation and the pointer.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  value?: unknown;
  from?: string;
}

export class JsonPatchError extends Error {
  readonly index: number;
  readonly pointer: string;
  constructor(index: number, pointer: string, message: string) {
    super(`patch operation ${index} (${pointer || '/'}): ${message}`);
    this.name = 'JsonPatchError';
    this.index = index;
    this.pointer = pointer;
  }
}

/** Splits a JSON pointer into unescaped tokens (`~1` is `/`, `~0` is `~`). */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new Error(`"${pointer}" is not a JSON pointer (must start with /)`);
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function clone<T>(value: T): T {
  return value === undefined ? value : (structuredClone(value) as T);
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

function arrayIndex(tokens: string, length: number, allowEnd: boolean): number {
  if (tokens === '-' && allowEnd) return length;
  if (!/^(0|[1-9][0-9]*)$/.test(tokens)) throw new Error(`"${tokens}" is not an array index`);
  const index = Number(tokens);
  if (index > length || (!allowEnd && index === length)) throw new Error(`index ${index} is out of range`);
  return index;
}

/** Returns the parent container and last token; throws when the parent does not exist. */
function locate(root: unknown, tokens: string[]): { parent: unknown; key: string } {
  let current = root;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(current)) current = current[arrayIndex(token, current.length, false)];
    else if (isObject(current) && Object.hasOwn(current, token)) current = current[token];
    else throw new Error(`path does not exist at "${token}"`);
  }
  const key = tokens[tokens.length - 1];
  if (key === undefined) throw new Error('the document root has no parent');
  return { parent: current, key };
}

function get(root: unknown, tokens: string[]): unknown {
  let current = root;
  for (const token of tokens) {
    if (Array.isArray(current)) current = current[arrayIndex(token, current.length, false)];
    else if (isObject(current) && Object.hasOwn(current, token)) current = current[token];
    else throw new Error(`path does not exist at "${token}"`);
  }
  return current;
}

function add(root: unknown, tokens: string[], value: unknown): unknown {
  if (tokens.length === 0) return value;
  const { parent, key } = locate(root, tokens);
  if (Array.isArray(parent)) parent.splice(arrayIndex(key, parent.length, true), 0, value);
  else if (isObject(parent)) parent[key] = value;
  else throw new Error('the parent is not an object or array');
  return root;
}

function remove(root: unknown, tokens: string[]): { root: unknown; removed: unknown } {
  if (tokens.length === 0) throw new Error('cannot remove the document root');
  const { parent, key } = locate(root, tokens);
  if (Array.isArray(parent)) {
    const [removed] = parent.splice(arrayIndex(key, parent.length, false), 1);
    return { root, removed };
  }
  if (isObject(parent) && Object.hasOwn(parent, key)) {
    const removed = parent[key];
    delete parent[key];
    return { root, removed };
  }
  throw new Error(`path does not exist at "${key}"`);
}

/** Applies the operations in order; all or nothing (the input is not modified). */
export function applyJsonPatch<T>(document: T, operations: readonly JsonPatchOperation[]): T {
  let root: unknown = clone(document);
  operations.forEach((operation, index) => {
    try {
      const tokens = parsePointer(operation.path);
      switch (operation.op) {
        case 'add':
          if (!('value' in operation)) throw new Error('"add" needs a value');
          root = add(root, tokens, clone(operation.value));
          break;
        case 'remove':
          root = remove(root, tokens).root;
          break;
        case 'replace':
          if (!('value' in operation)) throw new Error('"replace" needs a value');
          get(root, tokens);
          if (tokens.length === 0) root = clone(operation.value);
          else root = add(remove(root, tokens).root, tokens, clone(operation.value));
          break;
        case 'move': {
          if (operation.from === undefined) throw new Error('"move" needs from');
          const from = parsePointer(operation.from);
          if (operation.path.startsWith(`${operation.from}/`)) throw new Error('cannot move a value into itself');
          const taken = remove(root, from);
          root = add(taken.root, tokens, taken.removed);
          break;
        }
        case 'copy': {
          if (operation.from === undefined) throw new Error('"copy" needs from');
          root = add(root, tokens, clone(get(root, parsePointer(operation.from))));
          break;
        }
        case 'test':
          if (!deepEqual(get(root, tokens), operation.value)) throw new Error('test failed: the value differs');
          break;
        default:
          throw new Error(`unknown op "${String((operation as { op: unknown }).op)}"`);
      }
    } catch (error) {
      if (error instanceof JsonPatchError) throw error;
      throw new JsonPatchError(index, operation.path, error instanceof Error ? error.message : String(error));
    }
  });
  return root as T;
}
