/**
 * external-dns weighted records kept on Services: for each site, one Service in the router's
 * namespace carries `external-dns.alpha.kubernetes.io/hostname` naming the record, a distinct
 * `external-dns.alpha.kubernetes.io/set-identifier`, the weight in
 * `external-dns.alpha.kubernetes.io/aws-weight` (0-255; absent counts as 0), and the label
 * `handoff.dev/site: <site>` that says whose it is. external-dns turns each into one weighted
 * record of the same name. Writes are merge patches of the weight annotation only, the Service
 * gaining weight first, so DNS never sees every weight at 0 (Route 53 would then answer with all).
 */
import { z } from 'zod';
import { AdapterError } from '../../common/errors.js';
import type { KubeClient } from '../../platforms/kubernetes/client.js';
import type { WeightStore } from '../gateway-api/weighted-router.js';

export const HOSTNAME_ANNOTATION = 'external-dns.alpha.kubernetes.io/hostname';
export const SET_IDENTIFIER_ANNOTATION = 'external-dns.alpha.kubernetes.io/set-identifier';
export const WEIGHT_ANNOTATION = 'external-dns.alpha.kubernetes.io/aws-weight';
export const SITE_LABEL = 'handoff.dev/site';

export interface ServiceRecordsStoreOptions {
  record: string;
  namespace: string;
  sites: readonly string[];
}

const serviceList = z.looseObject({
  items: z
    .array(
      z.looseObject({
        metadata: z.looseObject({
          name: z.string(),
          labels: z.record(z.string(), z.string()).optional(),
          annotations: z.record(z.string(), z.string()).optional(),
        }),
      }),
    )
    .nullable(),
});

interface SiteRecord {
  service: string;
  setIdentifier: string;
  weight: number;
}

function namesRecord(hostnames: string | undefined, record: string): boolean {
  const wanted = record.replace(/\.$/, '').toLowerCase();
  return (hostnames ?? '').split(',').some((h) => h.trim().replace(/\.$/, '').toLowerCase() === wanted);
}

export function createServiceRecordsStore(options: ServiceRecordsStoreOptions, client: KubeClient): WeightStore {
  const { record, namespace, sites } = options;
  const where = `record ${record} (Services in namespace ${namespace} on context ${client.context})`;
  const collection = `/api/v1/namespaces/${encodeURIComponent(namespace)}/services`;

  const readRecords = async (): Promise<Record<string, SiteRecord>> => {
    const parsed = serviceList.safeParse(await client.request({ method: 'GET', path: collection }));
    if (!parsed.success) throw new AdapterError(`${where}: the API server sent something that is not a Service list`);
    const found: Record<string, SiteRecord> = {};
    const problems: string[] = [];
    for (const item of parsed.data.items ?? []) {
      const { name, labels = {}, annotations = {} } = item.metadata;
      const site = labels[SITE_LABEL];
      if (site === undefined || !namesRecord(annotations[HOSTNAME_ANNOTATION], record)) continue;
      if (!sites.includes(site)) {
        problems.push(`Service ${name} has ${SITE_LABEL}=${site}, which is not a site (${sites.join(', ')})`);
        continue;
      }
      if (found[site] !== undefined) {
        problems.push(
          `Services ${found[site].service} and ${name} both claim site ${site}; label exactly one per site`,
        );
        continue;
      }
      const setIdentifier = annotations[SET_IDENTIFIER_ANNOTATION];
      if (setIdentifier === undefined || setIdentifier === '') {
        problems.push(
          `Service ${name} has no ${SET_IDENTIFIER_ANNOTATION} annotation, so external-dns would not make a weighted record`,
        );
        continue;
      }
      const raw = annotations[WEIGHT_ANNOTATION];
      const weight = raw === undefined ? 0 : Number(raw);
      if (!Number.isInteger(weight) || weight < 0 || weight > 255) {
        problems.push(`Service ${name} has ${WEIGHT_ANNOTATION}="${raw}"; a weight is an integer from 0 to 255`);
        continue;
      }
      found[site] = { service: name, setIdentifier, weight };
    }
    for (const site of sites) {
      if (found[site] === undefined && !problems.some((p) => p.includes(`site ${site}`))) {
        problems.push(
          `no Service for site ${site}: label one ${SITE_LABEL}=${site} and annotate it ${HOSTNAME_ANNOTATION}=${record} and ${SET_IDENTIFIER_ANNOTATION}`,
        );
      }
    }
    const identifiers = Object.values(found).map((r) => r.setIdentifier);
    if (new Set(identifiers).size !== identifiers.length)
      problems.push(`the sites' Services share a ${SET_IDENTIFIER_ANNOTATION}; each needs its own`);
    if (problems.length > 0)
      throw new AdapterError(`${where}: ${problems.join('; ')}`, {
        details: { record, namespace, context: client.context },
      });
    return found;
  };

  return {
    async read() {
      const records = await readRecords();
      return Object.fromEntries(sites.map((site) => [site, records[site]?.weight ?? 0]));
    },
    async write(next, current) {
      const records = await readRecords();
      // Gaining weight first: every intermediate state lies between the old and the new weights, never all at 0.
      const order = [...sites].sort(
        (a, b) => (next[b] ?? 0) - (current[b] ?? 0) - ((next[a] ?? 0) - (current[a] ?? 0)),
      );
      for (const site of order) {
        const target = records[site];
        const weight = next[site] ?? 0;
        if (target === undefined || target.weight === weight) continue;
        await client.request({
          method: 'PATCH',
          path: `${collection}/${encodeURIComponent(target.service)}`,
          contentType: 'application/merge-patch+json',
          body: { metadata: { annotations: { [WEIGHT_ANNOTATION]: String(weight) } } },
        });
      }
    },
  };
}
