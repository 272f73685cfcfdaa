/** A path inside a plan document, as zod and the YAML walker see it. */
export type PlanPath = ReadonlyArray<string | number>;

const identifier = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/**
 * Formats a path the way a reader writes it: `spec.traffic.reads.steps[2]`. Keys that are not plain
 * names (a registry prefix, a label with dots) are quoted: `spec.workloads.transforms.images["a.b/"]`.
 */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (typeof part === 'string' && identifier.test(part)) out += out === '' ? part : `.${part}`;
    else out += `[${JSON.stringify(String(part))}]`;
  }
  return out;
}

/** Zod paths may hold symbols in theory; plan paths never do. */
export function toPlanPath(path: ReadonlyArray<PropertyKey>): Array<string | number> {
  return path.map((part) => (typeof part === 'number' ? part : String(part)));
}
