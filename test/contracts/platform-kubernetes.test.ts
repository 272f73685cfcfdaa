/**
 * The Platform contract against the kubernetes platform, between two Kubernetes API test servers.
 * A site's snapshot is every object handoff may touch without what the server manages (status,
 * resourceVersion, generation, managedFields), so "unchanged" means no object was created,
 * deleted or edited.
 */
import { createKubernetesPlatform } from '../../src/platforms/kubernetes/kubernetes-platform.js';
import { LABEL_MIGRATION } from '../../src/platforms/kubernetes/apply.js';
import type { KubeTestServer } from '../support/kube/server.js';
import { planFor, startPair } from '../kubernetes/clusters.js';
import { platformContract } from './platform.contract.js';

const generated = new Set([
  'pods',
  'replicasets',
  'events',
  'endpoints',
  'persistentvolumes',
  'persistentvolumeclaims',
  'nodes',
]);

function objects(server: KubeTestServer): Array<Record<string, unknown>> {
  const seen = new Set<string>();
  return server.catalog
    .all()
    .filter(
      (t) =>
        !generated.has(t.plural) && !seen.has(`${t.group}/${t.plural}`) && Boolean(seen.add(`${t.group}/${t.plural}`)),
    )
    .flatMap((t) => server.store.list(t))
    .map(({ status: _status, ...rest }) => ({
      ...rest,
      metadata: { ...rest.metadata, resourceVersion: undefined, managedFields: undefined, generation: undefined },
    }));
}

platformContract('kubernetes', async () => {
  const pair = await startPair();
  const plan = planFor(pair);
  const options = { plan, readyTimeoutMs: 20_000, quiesceTimeoutMs: 20_000 };
  return {
    source: createKubernetesPlatform({ ...options, site: 'source' }, { redactor: pair.redactor }),
    target: createKubernetesPlatform({ ...options, site: 'target' }, { redactor: pair.redactor }),
    snapshot: async (site) => objects(site === 'source' ? pair.source : pair.target),
    leftovers: async () =>
      objects(pair.target)
        .filter((o) => (o.metadata as { labels?: Record<string, string> }).labels?.[LABEL_MIGRATION] !== undefined)
        .map((o) => `${String(o.kind)} ${String((o.metadata as { name: string }).name)}`),
    close: () => pair.close(),
  };
});
