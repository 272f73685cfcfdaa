/**
 * The weights of an HTTPRoute (gateway.networking.k8s.io/v1): in every rule, the first backendRef
 * is the source (a Service of the cluster that holds the route) and the second the target (a
 * ServiceImport, or an ExternalName Service pointing at the target's endpoint). The route is read
 * fresh each time; writes are a PUT carrying the resourceVersion just read, so a concurrent edit
 * is never overwritten (409 Conflict: read again and retry, a few times).
 */
import { z } from 'zod';
import { AdapterError } from '../../common/errors.js';
import { KubeApiError, type KubeClient } from '../../platforms/kubernetes/client.js';
import type { IntegerWeights } from './integer-weights.js';
import type { WeightStore } from './weighted-router.js';

export interface HttpRouteStoreOptions {
  route: string;
  namespace: string;
  /** Site names in backendRef order: [source, target]. */
  sites: readonly [string, string];
  /** Attempts when the route changes between read and write (default 3). */
  conflictAttempts?: number;
}

const backendRef = z.looseObject({
  group: z.string().optional(),
  kind: z.string().optional(),
  name: z.string().min(1),
  namespace: z.string().optional(),
  weight: z.number().int().min(0).optional(),
});
const httpRoute = z.looseObject({
  metadata: z.looseObject({ name: z.string(), resourceVersion: z.string().optional() }),
  spec: z.looseObject({
    rules: z.array(z.looseObject({ backendRefs: z.array(backendRef).optional() })).optional(),
  }),
});
type HttpRoute = z.infer<typeof httpRoute>;
type BackendRef = z.infer<typeof backendRef>;

const ACCEPTED_TARGETS = new Set(['/Service', 'multicluster.x-k8s.io/ServiceImport']);

function refName(ref: BackendRef): string {
  return `${ref.group ? `${ref.group}/` : ''}${ref.kind ?? 'Service'} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}

function sameBackend(a: BackendRef, b: BackendRef): boolean {
  return refName(a) === refName(b);
}

export function createHttpRouteStore(options: HttpRouteStoreOptions, client: KubeClient): WeightStore {
  const { route, namespace, sites } = options;
  const where = `HTTPRoute ${namespace}/${route} on context ${client.context}`;
  const path = `/apis/gateway.networking.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/httproutes/${encodeURIComponent(route)}`;

  const fetchRoute = async (): Promise<HttpRoute> => {
    let body: unknown;
    try {
      body = await client.request({ method: 'GET', path });
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) {
        throw new AdapterError(
          `${where} does not exist (or the cluster does not serve gateway.networking.k8s.io/v1); create it with two backendRefs per rule, the source Service first and the target second, or correct spec.traffic.router.route, namespace and context`,
          { cause: error, details: { route, namespace, context: client.context } },
        );
      }
      throw error;
    }
    const parsed = httpRoute.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new AdapterError(
        `${where}: not a valid HTTPRoute (${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'})`,
      );
    }
    return parsed.data;
  };

  /** The route's weights, after checking it follows the convention; throws AdapterError saying how it does not. */
  const weightsOf = (object: HttpRoute): IntegerWeights => {
    const rules = object.spec.rules ?? [];
    if (rules.length === 0)
      throw new AdapterError(
        `${where} has no rules; give it a rule whose backendRefs are the source Service and then the target`,
      );
    let first: { source: BackendRef; target: BackendRef; weights: IntegerWeights } | null = null;
    for (const [index, rule] of rules.entries()) {
      const refs = rule.backendRefs ?? [];
      const [source, target] = refs;
      if (refs.length !== 2 || source === undefined || target === undefined) {
        throw new AdapterError(
          `${where}: spec.rules[${index}] has ${refs.length} backendRefs; the gateway-api driver needs exactly two in every rule, the source Service first and the target (ServiceImport or ExternalName Service) second`,
        );
      }
      if ((source.group ?? '') !== '' || (source.kind ?? 'Service') !== 'Service') {
        throw new AdapterError(
          `${where}: spec.rules[${index}].backendRefs[0] is ${refName(source)}; the first backendRef must be the source Service`,
        );
      }
      if (!ACCEPTED_TARGETS.has(`${target.group ?? ''}/${target.kind ?? 'Service'}`)) {
        throw new AdapterError(
          `${where}: spec.rules[${index}].backendRefs[1] is ${refName(target)}; the second backendRef must be the target, a ServiceImport (multicluster.x-k8s.io) or an ExternalName Service`,
        );
      }
      // An absent weight is 1 (the Gateway API default).
      const weights: IntegerWeights = { [sites[0]]: source.weight ?? 1, [sites[1]]: target.weight ?? 1 };
      if (first === null) {
        first = { source, target, weights };
      } else if (!sameBackend(first.source, source) || !sameBackend(first.target, target)) {
        throw new AdapterError(
          `${where}: spec.rules[${index}] names other backends than spec.rules[0]; every rule must name the same source and target`,
        );
      } else if (first.weights[sites[0]] !== weights[sites[0]] || first.weights[sites[1]] !== weights[sites[1]]) {
        throw new AdapterError(
          `${where}: spec.rules[${index}] weighs ${weights[sites[0]]}:${weights[sites[1]]} but spec.rules[0] ${first.weights[sites[0]]}:${first.weights[sites[1]]}; something else edits the route: make the rules agree, then run again`,
        );
      }
    }
    if (first === null) throw new AdapterError(`${where} has no rules`);
    return first.weights;
  };

  const withWeights = (object: HttpRoute, next: IntegerWeights): HttpRoute => {
    const copy = structuredClone(object);
    for (const rule of copy.spec.rules ?? []) {
      const refs = rule.backendRefs ?? [];
      if (refs[0]) refs[0].weight = next[sites[0]] ?? 0;
      if (refs[1]) refs[1].weight = next[sites[1]] ?? 0;
    }
    return copy;
  };

  return {
    async read() {
      return weightsOf(await fetchRoute());
    },
    async write(next) {
      const attempts = options.conflictAttempts ?? 3;
      for (let attempt = 1; ; attempt++) {
        const object = await fetchRoute();
        weightsOf(object);
        try {
          await client.request({ method: 'PUT', path, body: withWeights(object, next) });
          return;
        } catch (error) {
          if (error instanceof KubeApiError && error.status === 409 && attempt < attempts) continue;
          throw error;
        }
      }
    },
  };
}
