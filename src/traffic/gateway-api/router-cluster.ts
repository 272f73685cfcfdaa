/**
 * Which cluster and namespace hold the objects of a router driven through Kubernetes (gateway-api,
 * dns): the router's own `context` and `namespace` when the plan gives them, otherwise the source
 * site's (where clients reach the service before the move). The kubeconfig file is that of the
 * site whose context it is, else the source's, else KUBECONFIG or ~/.kube/config, as kubectl.
 */
import { InputError } from '../../common/errors.js';
import type { Migration } from '../../plan/schema.js';

export interface RouterCluster {
  context: string;
  namespace: string;
  kubeconfig?: string;
}

export function routerClusterFromPlan(spec: Migration['spec'], kind: 'gateway-api' | 'dns'): RouterCluster {
  const router = spec.traffic?.router;
  if (router?.kind !== kind) throw new InputError(`spec.traffic.router: the plan's router is not of kind ${kind}`);
  const platforms = [spec.source.platform, spec.target.platform];
  const source = spec.source.platform.kind === 'kubernetes' ? spec.source.platform : undefined;
  const context = router.context ?? source?.context;
  if (context === undefined) {
    throw new InputError(
      `spec.traffic.router.context: the ${kind} router needs a Kubernetes context; give one, or make the source a kubernetes site`,
    );
  }
  const owner = platforms.find((p) => p.kind === 'kubernetes' && p.context === context);
  const kubeconfig =
    owner?.kind === 'kubernetes' && owner.kubeconfig !== undefined ? owner.kubeconfig : source?.kubeconfig;
  const namespace =
    router.namespace ?? (owner?.kind === 'kubernetes' ? owner.namespace : undefined) ?? source?.namespace ?? 'default';
  return { context, namespace, ...(kubeconfig === undefined ? {} : { kubeconfig }) };
}
