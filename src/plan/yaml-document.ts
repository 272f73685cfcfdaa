/**
 * Parses the text of a plan as exactly one YAML document and keeps the positions of its nodes, so
 * every later error can say file:line:column. Refuses, with a position: syntax errors, custom tags,
 * several documents, a document that is not a mapping, duplicate keys, keys that are not plain
 * scalars, merge keys, and alias bombs (too many aliases, refused before anything is expanded).
 */
import {
  isAlias,
  isMap,
  isNode,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseAllDocuments,
  type Document,
  type YAMLMap,
} from 'yaml';
import { PlanError, type PlanIssue, type PlanLocation } from '../common/errors.js';
import { scanDepth } from './depth-scan.js';
import { capIssues, MAX_REPORTED_ISSUES } from './issue-limit.js';
import { formatPath, type PlanPath } from './path.js';

/** More alias nodes than this in one plan is an attack or a mistake, never a plan. */
export const MAX_ALIAS_NODES = 200;
/** Bound on the expansion of aliases (the yaml package's count of resolved alias uses). */
export const MAX_ALIAS_COUNT = 100;
/** Nesting deeper than this is refused (plans are at most about 8 levels deep). */
export const MAX_DEPTH = 64;
/** Syntax errors after the first few are mostly echoes of the first. */
const MAX_SYNTAX_ISSUES = 10;
/** The tags of the YAML core schema; anything else (!!binary, !!timestamp, !custom) is refused. */
const CORE_TAGS = new Set(['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`));

export interface ParsedYaml {
  /** The document as plain JavaScript values (not yet validated). */
  value: unknown;
  /** Position of the value at `path`, or of the nearest existing ancestor. */
  locate(path: PlanPath): PlanLocation;
  /** Position of the key naming the last element of `path` (falls back to `locate`). */
  locateKey(path: PlanPath): PlanLocation;
}

const empty = 'the plan file is empty; a plan starts with "apiVersion: handoff.dev/v1alpha1" and "kind: Migration"';

function describeNode(node: unknown): string {
  if (isSeq(node)) return 'a list';
  if (isScalar(node))
    return node.value === null ? 'empty' : `a ${typeof node.value} (${String(node.value).slice(0, 40)})`;
  return 'not a mapping';
}

/** Positions in one text: offsets to line and column, and issues placed there. */
interface Positions {
  file: string;
  lineCounter: LineCounter;
  position(offset: number): { line: number; column: number };
  at(offset: number, path: PlanPath, message: string): PlanIssue;
}

function positionsIn(file: string): Positions {
  const lineCounter = new LineCounter();
  const position = (offset: number): { line: number; column: number } => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  return {
    file,
    lineCounter,
    position,
    at: (offset, path, message) => ({ file, ...position(offset), path: formatPath(path), message }),
  };
}

/** Step 1: a cheap scan of the raw text refuses nesting the parser would choke on. */
function refuseDeepNesting(text: string, file: string): void {
  const scan = scanDepth(text);
  if (scan.problem === undefined) return;
  const before = text.slice(0, scan.problem.offset);
  const line = before.split('\n').length;
  const column = scan.problem.offset - (before.lastIndexOf('\n') + 1) + 1;
  throw new PlanError([{ file, line, column, path: '', message: scan.problem.message }]);
}

/** Step 2: parse, and keep exactly one document with content (syntax errors refused here). */
function parseOneDocument(text: string, where: Positions): Document.Parsed {
  const { file, at } = where;
  let docs: Array<Document.Parsed>;
  try {
    const parsed = parseAllDocuments(text, {
      lineCounter: where.lineCounter,
      schema: 'core',
      merge: false,
      uniqueKeys: false,
      prettyErrors: false,
      strict: true,
      keepSourceTokens: false,
    });
    docs = Array.isArray(parsed) ? parsed : [];
  } catch (error) {
    // The parser itself gave up (for example nesting deep enough to exhaust the stack).
    const reason = error instanceof RangeError ? 'the document is nested too deeply' : 'the YAML parser failed';
    throw new PlanError([{ file, line: 1, column: 1, path: '', message: reason }]);
  }

  // A trailing `---` (or `...`) leaves an empty document behind: that is not a second plan.
  const isEmpty = (doc: Document.Parsed): boolean =>
    doc.contents === null ||
    (isScalar(doc.contents) && doc.contents.value === null && doc.contents.range[0] === doc.contents.range[1]);
  const withContent = docs.filter((doc) => !isEmpty(doc) || doc.errors.length > 0 || doc.warnings.length > 0);
  const doc = withContent[0];
  if (doc === undefined) throw new PlanError([{ file, line: 1, column: 1, path: '', message: empty }]);

  const syntax = [...doc.errors, ...doc.warnings]
    .slice(0, MAX_SYNTAX_ISSUES)
    .map((problem) =>
      at(
        problem.pos[0],
        [],
        /call stack/i.test(problem.message) ? 'the document is nested too deeply' : problem.message,
      ),
    );
  if (syntax.length > 0) throw new PlanError(syntax);

  const second = withContent[1];
  if (second !== undefined) {
    throw new PlanError([
      at(
        second.range[0],
        [],
        `the file holds ${withContent.length} YAML documents; a plan file holds exactly one (remove the "---" separator and what follows, or split the file)`,
      ),
    ]);
  }
  return doc;
}

/** Step 3: the root must be a mapping. */
function mappingRoot(doc: Document.Parsed, where: Positions): NonNullable<Document.Parsed['contents']> {
  const root = doc.contents;
  if (root === null) throw new PlanError([{ file: where.file, line: 1, column: 1, path: '', message: empty }]);
  if (!isMap(root)) {
    throw new PlanError([
      where.at(
        root.range[0],
        [],
        `the document is ${describeNode(root)}; a plan is a mapping that starts with "apiVersion:"`,
      ),
    ]);
  }
  return root;
}

/**
 * Step 4: walk the tree once for duplicate keys, odd keys, custom tags, depth and aliases (aliases
 * are counted, not followed). Returns the offset of the first alias (-1: none).
 */
function checkNodes(root: unknown, where: Positions): number {
  const { at, position } = where;
  const issues: PlanIssue[] = [];
  let aliases = 0;
  let firstAlias = -1;
  const checkMap = (node: YAMLMap, path: Array<string | number>, depth: number): void => {
    const seen = new Map<string, number>();
    for (const pair of node.items) {
      if (issues.length >= MAX_REPORTED_ISSUES) return;
      if (!isPair(pair)) continue;
      const key = pair.key;
      const keyOffset = (isNode(key) ? key.range?.[0] : undefined) ?? node.range?.[0] ?? 0;
      if (!isScalar(key) || key.value === null || typeof key.value === 'object') {
        issues.push(at(keyOffset, path, 'keys must be plain names, not lists, mappings, aliases or empty'));
        continue;
      }
      const name = String(key.value);
      const here = [...path, name];
      if (name === '<<') {
        issues.push(at(keyOffset, here, 'merge keys ("<<") are not supported in plan files; write the fields out'));
        continue;
      }
      const first = seen.get(name);
      if (first !== undefined) {
        const was = position(first);
        issues.push(
          at(
            keyOffset,
            here,
            `duplicate key "${name}" (first at line ${was.line}, column ${was.column}); YAML would silently keep only the last one, so remove one of them`,
          ),
        );
      } else {
        seen.set(name, keyOffset);
      }
      walk(pair.value, here, depth + 1);
    }
  };
  const walk = (node: unknown, path: Array<string | number>, depth: number): void => {
    if (issues.length >= MAX_REPORTED_ISSUES) return;
    if (isAlias(node)) {
      aliases++;
      if (firstAlias < 0) firstAlias = node.range?.[0] ?? 0;
      return;
    }
    const offset = isNode(node) ? (node.range?.[0] ?? 0) : 0;
    const tag = isNode(node) ? node.tag : undefined;
    if (tag !== undefined && !CORE_TAGS.has(tag)) {
      issues.push(
        at(
          offset,
          path,
          `the YAML tag ${tag.replace('tag:yaml.org,2002:', '!!')} is not allowed in a plan; write a plain value`,
        ),
      );
      return;
    }
    if (depth > MAX_DEPTH) {
      issues.push(at(offset, path, `nested more than ${MAX_DEPTH} levels deep`));
      return;
    }
    if (isMap(node)) checkMap(node, path, depth);
    else if (isSeq(node)) node.items.forEach((item, index) => walk(item, [...path, index], depth + 1));
  };
  walk(root, [], 0);
  if (aliases > MAX_ALIAS_NODES) {
    issues.push(
      at(firstAlias, [], `${aliases} aliases; a plan may use at most ${MAX_ALIAS_NODES} (is this a YAML alias bomb?)`),
    );
  }
  if (issues.length > 0) throw new PlanError(capIssues(issues));
  return firstAlias;
}

/** Step 5: plain values, with alias expansion bounded. */
function toValue(doc: Document.Parsed, firstAlias: number, where: Positions): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    const message =
      error instanceof ReferenceError && /alias/i.test(error.message)
        ? `aliases expand to too many nodes (more than ${MAX_ALIAS_COUNT} alias uses); this looks like a YAML alias bomb`
        : `cannot read the document: ${error instanceof Error ? error.message : String(error)}`;
    throw new PlanError([where.at(Math.max(firstAlias, 0), [], message)]);
  }
}

/** Step 6: find the node (and its key) at a path, for positions in later errors. */
function nodeAt(doc: Document.Parsed, root: unknown, path: PlanPath): { node: unknown; key: unknown } {
  let node: unknown = root;
  let key: unknown;
  let complete = true;
  for (const part of path) {
    if (isAlias(node)) node = node.resolve(doc);
    let next: unknown;
    let nextKey: unknown;
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(part));
      if (pair) {
        nextKey = pair.key;
        next = pair.value ?? pair.key;
      }
    } else if (isSeq(node) && typeof part === 'number') {
      next = node.items[part];
    }
    if (next === undefined || next === null) {
      complete = false;
      break;
    }
    node = next;
    key = nextKey;
  }
  return { node, key: complete ? key : undefined };
}

export function parseYaml(text: string, file: string): ParsedYaml {
  const where = positionsIn(file);
  refuseDeepNesting(text, file);
  const doc = parseOneDocument(text, where);
  const root = mappingRoot(doc, where);
  const firstAlias = checkNodes(root, where);
  const value = toValue(doc, firstAlias, where);
  const locationOf = (node: unknown, path: PlanPath): PlanLocation => {
    const range = isNode(node) ? node.range : undefined;
    return { file, ...where.position(range?.[0] ?? 0), path: formatPath(path) };
  };
  return {
    value,
    locate: (path) => locationOf(nodeAt(doc, root, path).node, path),
    locateKey: (path) => {
      const found = nodeAt(doc, root, path);
      return locationOf(found.key ?? found.node, path);
    },
  };
}
