/**
 * An in-memory Platform for engine tests: one site whose workloads are a replica count, with the
 * same promises as the real platforms (provision finds what it made, quiesce is reversible and
 * returns what it changed, teardown removes only what provision made). Every call is written to
 * `journal` (`platform <site> <method>`), so tests can place it against other adapters' calls.
 */
import type { Finding } from '../../common/findings.js';
import type { Platform, QuiesceRecord, SiteName } from '../platform.js';

export interface FakePlatformOptions {
  site: SiteName;
  /** Replicas running before the run (the source's service); 0 for an empty target. */
  replicas?: number;
  /** Findings preflight reports (none by default). */
  findings?: Finding[];
  /** Shared with other fakes to record one timeline; a new list by default. */
  journal?: string[];
}

export interface FakePlatform extends Platform {
  readonly journal: string[];
  /** Replicas running now. */
  replicas(): number;
}

export function createFakePlatform(options: FakePlatformOptions): FakePlatform {
  const journal = options.journal ?? [];
  let replicas = options.replicas ?? 0;
  let provisioned = false;
  const note = (method: string): void => void journal.push(`platform ${options.site} ${method}`);
  return {
    site: options.site,
    journal,
    replicas: () => replicas,
    async preflight() {
      note('preflight');
      return [...(options.findings ?? [])];
    },
    async provision() {
      note('provision');
      if (!provisioned) {
        provisioned = true;
        replicas = Math.max(replicas, 1);
      }
      return { workloads: [{ name: `fake-${options.site}`, replicas, ready: true }] };
    },
    async quiesce() {
      note('quiesce');
      const record: QuiesceRecord = { replicas };
      replicas = 0;
      return record;
    },
    async unquiesce(_ctx, record) {
      note('unquiesce');
      if (typeof record.replicas === 'number') replicas = record.replicas;
    },
    async teardown() {
      note('teardown');
      if (provisioned) replicas = 0;
      provisioned = false;
    },
  };
}
