/**
 * A minimal authorizer for the API test server: every request is allowed unless a deny rule
 * matches its verb, resource, namespace and name. A denied request gets the 403 Forbidden Status
 * the real API server sends for an RBAC denial (message, reason, details, code), so a test can show
 * what a client does when RBAC forbids it. Verbs are the ones RBAC knows: get, list, watch, create,
 * update, patch, delete, deletecollection.
 */
import { qualifiedResource, type ResourceType } from './catalog.js';
import type { StatusBody } from './status.js';

export interface DenyRule {
  /** RBAC verb (default: every verb). */
  verb?: string;
  /** API group ('' is core; default: every group). */
  group?: string;
  /** Plural resource, with `/subresource` for subresources (`secrets`, `deployments/scale`). */
  resource: string;
  /** Namespace (default: every namespace). */
  namespace?: string;
  /** Object name (default: every object). */
  name?: string;
}

export interface AuthorizationRequest {
  method: string;
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
  watch: boolean;
}

export interface Authorizer {
  /** The user the server says it authenticated (in Forbidden messages). */
  readonly user: string;
  /** Adds a deny rule; returns a function that removes it. */
  deny(rule: DenyRule): () => void;
  /** undefined when allowed, else the 403 Status body to send. */
  check(request: AuthorizationRequest): StatusBody | undefined;
}

/** The RBAC verb of a request, as the API server's request info resolver derives it. */
export function verbOf(request: Pick<AuthorizationRequest, 'method' | 'name' | 'watch'>): string {
  const named = request.name !== undefined;
  switch (request.method) {
    case 'GET':
    case 'HEAD':
      return request.watch ? 'watch' : named ? 'get' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return named ? 'delete' : 'deletecollection';
    default:
      return request.method.toLowerCase();
  }
}

export function createAuthorizer(user: string, rules: readonly DenyRule[] = []): Authorizer {
  const active = new Set<DenyRule>(rules);
  return {
    user,
    deny(rule) {
      active.add(rule);
      return () => void active.delete(rule);
    },
    check(request) {
      const verb = verbOf(request);
      const resource = request.subresource ? `${request.type.plural}/${request.subresource}` : request.type.plural;
      const denied = [...active].some(
        (rule) =>
          (rule.verb === undefined || rule.verb === verb) &&
          (rule.group === undefined || rule.group === request.type.group) &&
          rule.resource === resource &&
          (rule.namespace === undefined || rule.namespace === request.namespace) &&
          (rule.name === undefined || rule.name === request.name),
      );
      if (!denied) return undefined;
      const subject =
        request.name !== undefined
          ? `${qualifiedResource(request.type)} "${request.name}"`
          : qualifiedResource(request.type);
      const scope =
        request.namespace !== undefined ? `in the namespace "${request.namespace}"` : 'at the cluster scope';
      const details: NonNullable<StatusBody['details']> = {
        ...(request.name !== undefined ? { name: request.name } : {}),
        ...(request.type.group !== '' ? { group: request.type.group } : {}),
        kind: request.type.plural,
      };
      return {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: `${subject} is forbidden: User "${user}" cannot ${verb} resource "${resource}" in API group "${request.type.group}" ${scope}`,
        reason: 'Forbidden',
        details,
        code: 403,
      };
    },
  };
}
