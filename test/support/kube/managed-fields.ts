/**
 * Server-side apply and field ownership, simplified: a manager owns the leaf paths it set; maps
 * merge by key; lists of objects with a known merge key (containers and env by `name`, ports by
 * `containerPort`/`port`, ...; see patch.ts) are associative, with path segments written
 * `k:{"name":"web"}` as in the real FieldsV1; other lists are atomic. Apply conflicts
 * when another manager owns a path whose value the applied configuration changes, unless `force`;
 * fields the manager applied before and leaves out now are removed unless someone else owns them.
 * Ownership is kept in `metadata.managedFields` in the FieldsV1 format the real server uses.
 */
import { mergeKeyFor } from './patch.js';
import { statusErrors } from './status.js';

type Obj = Record<string, unknown>;
type Path = string[];

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Obj;
  subresource?: string;
}

const ignoredTop = new Set(['apiVersion', 'kind', 'status']);
const ignoredMetadata = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'managedFields',
  'selfLink',
  'deletionTimestamp',
]);

function isObject(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Leaf paths of a configuration, without the fields the server owns. */
function itemKey(key: string, item: Obj): string {
  return `k:${JSON.stringify({ [key]: item[key] })}`;
}

function keyedList(field: string | undefined, value: unknown): string | undefined {
  if (field === undefined || !Array.isArray(value) || value.length === 0 || !value.every(isObject)) return undefined;
  const key = mergeKeyFor(field, value);
  return key !== undefined && value.every((item) => item[key] !== undefined) ? key : undefined;
}

export function leafPaths(value: unknown, prefix: Path = []): Path[] {
  const key = keyedList(prefix[prefix.length - 1], value);
  if (key !== undefined && Array.isArray(value)) {
    return value.flatMap((item: Obj) => leafPaths(item, [...prefix, itemKey(key, item)]));
  }
  if (!isObject(value) || Object.keys(value).length === 0) return prefix.length === 0 ? [] : [prefix];
  const out: Path[] = [];
  for (const [key, child] of Object.entries(value)) {
    if (prefix.length === 0 && ignoredTop.has(key)) continue;
    if (prefix.length === 1 && prefix[0] === 'metadata' && ignoredMetadata.has(key)) continue;
    if (child === null || child === undefined) continue;
    out.push(...leafPaths(child, [...prefix, key]));
  }
  return out;
}

function findItem(list: unknown[], segment: string): number {
  const wanted = JSON.parse(segment.slice(2)) as Obj;
  const [[key, value] = ['', undefined]] = Object.entries(wanted);
  return list.findIndex((item) => isObject(item) && item[key] === value);
}

function step(current: unknown, segment: string): unknown {
  if (segment.startsWith('k:')) return Array.isArray(current) ? current[findItem(current, segment)] : undefined;
  return isObject(current) ? current[segment] : undefined;
}

function valueAt(object: unknown, path: Path): unknown {
  let current = object;
  for (const segment of path) {
    current = step(current, segment);
    if (current === undefined) return undefined;
  }
  return current;
}

function removeChild(parent: unknown, segment: string): void {
  if (segment.startsWith('k:') && Array.isArray(parent)) {
    const index = findItem(parent, segment);
    if (index >= 0) parent.splice(index, 1);
  } else if (isObject(parent)) delete parent[segment];
}

function isEmpty(value: unknown, keyed: boolean): boolean {
  if (isObject(value)) return Object.keys(value).length === 0;
  return keyed && Array.isArray(value) && value.length === 0;
}

function deleteAt(object: Obj, path: Path): void {
  const itemSegment = path[path.length - 2];
  if (
    itemSegment?.startsWith('k:') &&
    Object.keys(JSON.parse(itemSegment.slice(2)) as Obj)[0] === path[path.length - 1]
  ) {
    // Removing an item's key removes the item.
    deleteAt(object, path.slice(0, -1));
    return;
  }
  const parents: unknown[] = [];
  let current: unknown = object;
  for (const segment of path.slice(0, -1)) {
    parents.push(current);
    current = step(current, segment);
    if (current === undefined) return;
  }
  const last = path[path.length - 1];
  if (last === undefined) return;
  removeChild(current, last);
  // Drop maps and list items the removal left empty (as the real server prunes them).
  for (let i = path.length - 2; i >= 0; i -= 1) {
    const parent = parents[i];
    const segment = path[i];
    if (parent === undefined || segment === undefined) break;
    const child = step(parent, segment);
    const keyedChild = path[i + 1]?.startsWith('k:') === true;
    if (isEmpty(child, keyedChild) || (segment.startsWith('k:') && isObject(child) && Object.keys(child).length <= 1)) {
      removeChild(parent, segment);
    } else break;
  }
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function deepMerge(target: Obj, source: Obj): Obj {
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key];
    const mergeKey = keyedList(key, value);
    if (value === null) delete target[key];
    else if (isObject(value) && isObject(existing)) deepMerge(existing, value);
    else if (mergeKey !== undefined && Array.isArray(value) && Array.isArray(existing) && existing.every(isObject)) {
      // Associative list: items merge by key, in the applied order, then items only others own.
      const merged = value.map((item: Obj) => {
        const match = existing.find((old: Obj) => old[mergeKey] === item[mergeKey]);
        return match ? deepMerge(structuredClone(match), item) : structuredClone(item);
      });
      const rest = existing.filter((old: Obj) => !value.some((item: Obj) => item[mergeKey] === old[mergeKey]));
      target[key] = [...merged, ...rest];
    } else target[key] = structuredClone(value);
  }
  return target;
}

const keyOf = (path: Path): string => JSON.stringify(path);
const pathOf = (key: string): Path => JSON.parse(key) as Path;
export const dotted = (path: Path): string => `.${path.join('.')}`;

function overlaps(a: Path, b: Path): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i += 1) if (a[i] !== b[i]) return false;
  return true;
}

function toFieldsV1(paths: Iterable<Path>): Obj {
  const root: Obj = {};
  for (const path of paths) {
    let node = root;
    for (const key of path) {
      const name = key.startsWith('k:') ? key : `f:${key}`;
      if (!isObject(node[name])) node[name] = {};
      node = node[name] as Obj;
    }
  }
  return root;
}

function fromFieldsV1(fields: unknown, prefix: Path = []): Path[] {
  if (!isObject(fields)) return [];
  const children = Object.entries(fields).filter(([key]) => key.startsWith('f:') || key.startsWith('k:'));
  if (children.length === 0) return prefix.length === 0 ? [] : [prefix];
  return children.flatMap(([key, child]) =>
    fromFieldsV1(child, [...prefix, key.startsWith('k:') ? key : key.slice(2)]),
  );
}

interface Owner {
  entry: Omit<ManagedFieldsEntry, 'fieldsV1'>;
  paths: Set<string>;
}

function readOwners(object: Obj | undefined): Owner[] {
  const metadata = object && isObject(object.metadata) ? object.metadata : {};
  const entries = Array.isArray(metadata.managedFields) ? metadata.managedFields : [];
  return entries.filter(isObject).map((entry) => {
    const { fieldsV1, ...rest } = entry;
    return {
      entry: rest as unknown as Omit<ManagedFieldsEntry, 'fieldsV1'>,
      paths: new Set(fromFieldsV1(fieldsV1).map(keyOf)),
    };
  });
}

function writeOwners(object: Obj, owners: Owner[]): void {
  const metadata = isObject(object.metadata) ? object.metadata : (object.metadata = {});
  metadata.managedFields = owners
    .filter((owner) => owner.paths.size > 0)
    .map((owner) => ({ ...owner.entry, fieldsV1: toFieldsV1([...owner.paths].map(pathOf)) }));
}

function ownerFor(owners: Owner[], manager: string, operation: 'Apply' | 'Update', apiVersion: string): Owner {
  let owner = owners.find(
    (o) => o.entry.manager === manager && o.entry.operation === operation && !o.entry.subresource,
  );
  if (!owner) {
    owner = { entry: { manager, operation, apiVersion, time: '', fieldsType: 'FieldsV1' }, paths: new Set() };
    owners.push(owner);
  }
  owner.entry.time = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  owner.entry.apiVersion = apiVersion;
  return owner;
}

export interface ApplyInput {
  existing: Obj | undefined;
  applied: Obj;
  manager: string;
  force: boolean;
  apiVersion: string;
}

/** Server-side apply: returns the new object (without server-set metadata) or throws a 409. */
export function serverSideApply({ existing, applied, manager, force, apiVersion }: ApplyInput): Obj {
  const owners = readOwners(existing);
  const appliedPaths = leafPaths(applied);
  const conflicts: Array<{ manager: string; field: string; path: Path }> = [];
  for (const path of appliedPaths) {
    for (const owner of owners) {
      if (owner.entry.manager === manager || owner.entry.subresource) continue;
      for (const ownedKey of owner.paths) {
        const owned = pathOf(ownedKey);
        if (!overlaps(owned, path)) continue;
        const longer = owned.length >= path.length ? owned : path;
        if (!same(valueAt(existing, longer), valueAt(applied, longer))) {
          conflicts.push({ manager: owner.entry.manager, field: dotted(owned), path: owned });
        }
      }
    }
  }
  if (conflicts.length > 0 && !force) {
    const unique = [...new Map(conflicts.map((c) => [`${c.manager} ${c.field}`, c])).values()];
    throw statusErrors.applyConflict(unique, apiVersion);
  }
  const result: Obj = existing ? structuredClone(existing) : {};
  const mine = ownerFor(owners, manager, 'Apply', apiVersion);
  const appliedKeys = new Set(appliedPaths.map(keyOf));
  for (const key of mine.paths) {
    if (appliedKeys.has(key)) continue;
    const path = pathOf(key);
    const sharedWithOthers = owners.some(
      (o) => o !== mine && [...o.paths].some((other) => overlaps(pathOf(other), path)),
    );
    if (!sharedWithOthers) deleteAt(result, path);
  }
  deepMerge(result, applied);
  for (const conflict of conflicts) {
    for (const owner of owners) {
      if (owner === mine) continue;
      for (const key of [...owner.paths]) if (overlaps(pathOf(key), conflict.path)) owner.paths.delete(key);
    }
  }
  mine.paths = appliedKeys;
  writeOwners(result, owners);
  return result;
}

/** Records an update (PUT, merge/JSON/strategic patch) by `manager`: it takes the paths it changed. */
export function recordUpdate(before: Obj | undefined, after: Obj, manager: string, apiVersion: string): void {
  const owners = readOwners(before);
  const beforePaths = new Set(leafPaths(before ?? {}).map(keyOf));
  const afterPaths = leafPaths(after);
  const changed = afterPaths.filter(
    (path) => !beforePaths.has(keyOf(path)) || !same(valueAt(before, path), valueAt(after, path)),
  );
  const afterKeys = new Set(afterPaths.map(keyOf));
  for (const owner of owners) {
    for (const key of [...owner.paths]) {
      const path = pathOf(key);
      const gone = !afterKeys.has(key) && valueAt(after, path) === undefined;
      if (gone || changed.some((c) => overlaps(c, path))) owner.paths.delete(key);
    }
  }
  if (changed.length > 0) {
    const owner = ownerFor(owners, manager, 'Update', apiVersion);
    for (const path of changed) owner.paths.add(keyOf(path));
  }
  writeOwners(after, owners);
}
