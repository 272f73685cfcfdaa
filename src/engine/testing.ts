/**
 * Helpers for engine tests (unit tests and the crash-test child): a minimal plan and in-memory
 * secrets. Not used by the CLI.
 */
import { migration, type Migration, type MigrationInput } from '../plan/schema.js';
import type { ResolvedSecrets } from './step.js';

export function testPlan(spec: Partial<MigrationInput['spec']> = {}, name = 'test-plan'): Migration {
  return migration.parse({
    apiVersion: 'handoff.dev/v1alpha1',
    kind: 'Migration',
    metadata: { name },
    spec: { source: { platform: { kind: 'local' } }, target: { platform: { kind: 'local' } }, ...spec },
  });
}

/** Secrets from a fixed map (`source.db` → URL); unknown names throw like an unresolved reference. */
export function mapSecrets(values: Record<string, string>): ResolvedSecrets {
  return {
    databaseUrl(site, database) {
      const value = values[`${site}.${database}`];
      if (value === undefined) throw new Error(`no secret for ${site}.${database}`);
      return value;
    },
    resolve(_ref, path) {
      const value = values[path];
      if (value === undefined) throw new Error(`no secret at ${path}`);
      return value;
    },
  };
}
