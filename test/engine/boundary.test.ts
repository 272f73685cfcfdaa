/**
 * The engine reaches databases, routers and platforms only through their interfaces: no file under
 * src/engine imports an implementation (src/data/postgres, src/traffic/{builtin,gateway-api,dns},
 * src/platforms/<kind>/) except the one factory module the runtime builds adapters with. Read from
 * the source text: static imports and re-exports, side-effect imports and dynamic `import()` of a
 * string, resolved against the importing file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ENGINE = path.join(ROOT, 'src/engine');
/** The one module allowed to name implementations. */
const FACTORY = 'src/engine/adapters.ts';
const FORBIDDEN = [
  'src/data/postgres/',
  'src/traffic/builtin/',
  'src/traffic/gateway-api/',
  'src/traffic/dns/',
  /^src\/platforms\/[^/]+\//,
];

function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return filesUnder(full);
    return /\.(ts|mts|js|mjs)$/.test(entry.name) ? [full] : [];
  });
}

/** Every module specifier a file names: `import ... from`, `export ... from`, `import '...'`, `import('...')`. */
export function specifiers(source: string): string[] {
  // Comments could mention imports; drop them first (line and block comments, not inside strings we care about).
  const text = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const found: string[] = [];
  const patterns = [
    /\b(?:import|export)\s+(?:type\s+)?[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"`]([^'"`]+)['"`]\s*[,)]/g,
  ];
  for (const pattern of patterns) for (const match of text.matchAll(pattern)) found.push(match[1]!);
  return found;
}

/** A relative specifier as a path from the repository root (`.js` of a `.ts` source kept as written). */
function resolveFrom(file: string, specifier: string): string | null {
  if (!specifier.startsWith('.')) return null;
  return path
    .relative(ROOT, path.resolve(path.dirname(file), specifier))
    .split(path.sep)
    .join('/');
}

function isForbidden(target: string): boolean {
  return FORBIDDEN.some((rule) => (typeof rule === 'string' ? target.startsWith(rule) : rule.test(target)));
}

export function violations(files: string[]): string[] {
  const out: string[] = [];
  for (const file of files) {
    const rel = path.relative(ROOT, file).split(path.sep).join('/');
    if (rel === FACTORY) continue;
    for (const specifier of specifiers(fs.readFileSync(file, 'utf8'))) {
      const target = resolveFrom(file, specifier);
      if (target && isForbidden(target)) out.push(`${rel} imports ${specifier} (${target})`);
    }
  }
  return out;
}

describe('the engine boundary', () => {
  it('no file under src/engine imports a database, router or platform implementation, except the factory module', () => {
    const files = filesUnder(ENGINE);
    expect(files.length).toBeGreaterThan(20);
    expect(fs.existsSync(path.join(ROOT, FACTORY))).toBe(true);
    expect(violations(files)).toEqual([]);
  });

  it('the factory module is where the implementations are named (the check sees them there)', () => {
    const named = specifiers(fs.readFileSync(path.join(ROOT, FACTORY), 'utf8'))
      .map((s) => resolveFrom(path.join(ROOT, FACTORY), s))
      .filter((t): t is string => t !== null && isForbidden(t));
    expect(named).toEqual(
      expect.arrayContaining(['src/data/postgres/data-plane.js', 'src/platforms/local/local-platform.js']),
    );
  });

  it('finds every form of import, resolved relative to the importing file, and names the file and the import', () => {
    const dir = fs.mkdtempSync(path.join(ROOT, 'src/engine/.boundary-probe-'));
    try {
      const probe = path.join(dir, 'probe.ts');
      fs.writeFileSync(
        probe,
        [
          "import { connect } from '../../data/postgres/connect.js';",
          "import type { X } from '../../traffic/dns/dns-router.js';",
          "export { y } from '../../traffic/gateway-api/gateway-api-router.js';",
          "import '../../traffic/builtin/server.js';",
          "const k = await import('../../platforms/kubernetes/secrets.js');",
          "import { fine } from '../../data/data-plane.js';",
          "// import { commented } from '../../data/postgres/names.js';",
        ].join('\n'),
      );
      const rel = path.relative(ROOT, probe).split(path.sep).join('/');
      expect(violations([probe])).toEqual([
        `${rel} imports ../../data/postgres/connect.js (src/data/postgres/connect.js)`,
        `${rel} imports ../../traffic/dns/dns-router.js (src/traffic/dns/dns-router.js)`,
        `${rel} imports ../../traffic/gateway-api/gateway-api-router.js (src/traffic/gateway-api/gateway-api-router.js)`,
        `${rel} imports ../../traffic/builtin/server.js (src/traffic/builtin/server.js)`,
        `${rel} imports ../../platforms/kubernetes/secrets.js (src/platforms/kubernetes/secrets.js)`,
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
