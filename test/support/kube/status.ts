/**
 * `Status` bodies as the real API server sends them for errors (metav1.Status, kind Status,
 * apiVersion v1, status Failure, a reason from StatusReason and the HTTP code repeated in `code`).
 */
import { qualifiedResource, type ResourceType } from './catalog.js';

export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: string;
  details?: { name?: string; group?: string; kind?: string; uid?: string; causes?: StatusCause[] };
  code: number;
}

/** Thrown inside the server; turned into a Status response. */
export class KubeStatusError extends Error {
  readonly body: StatusBody;
  constructor(body: StatusBody) {
    super(body.message);
    this.body = body;
  }
}

function failure(code: number, reason: string, message: string, details?: StatusBody['details']): KubeStatusError {
  const body: StatusBody = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  if (details) body.details = details;
  return new KubeStatusError(body);
}

function detailsFor(type: ResourceType, name: string): NonNullable<StatusBody['details']> {
  return type.group === '' ? { name, kind: type.plural } : { name, group: type.group, kind: type.plural };
}

export const statusErrors = {
  notFound: (type: ResourceType, name: string) =>
    failure(404, 'NotFound', `${qualifiedResource(type)} "${name}" not found`, detailsFor(type, name)),
  namespaceNotFound: (name: string) =>
    failure(404, 'NotFound', `namespaces "${name}" not found`, { name, kind: 'namespaces' }),
  noResource: () => failure(404, 'NotFound', 'the server could not find the requested resource', {}),
  alreadyExists: (type: ResourceType, name: string) =>
    failure(409, 'AlreadyExists', `${qualifiedResource(type)} "${name}" already exists`, detailsFor(type, name)),
  conflict: (type: ResourceType, name: string) =>
    failure(
      409,
      'Conflict',
      `Operation cannot be fulfilled on ${qualifiedResource(type)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
      detailsFor(type, name),
    ),
  applyConflict: (managers: Array<{ manager: string; field: string }>, apiVersion: string) => {
    const causes = managers.map(({ manager, field }) => ({
      reason: 'FieldManagerConflict',
      message: `conflict with "${manager}" using ${apiVersion}`,
      field,
    }));
    const list = causes.map((cause) => `${cause.message}: ${cause.field}`).join('\n- ');
    const message =
      causes.length === 1
        ? `Apply failed with 1 conflict: ${list}`
        : `Apply failed with ${causes.length} conflicts: ${causes.map((c) => `${c.message}: ${c.field}`).join(', ')}`;
    return failure(409, 'Conflict', message, { causes });
  },
  invalid: (type: ResourceType, name: string, causes: Array<{ field: string; message: string; reason?: string }>) =>
    failure(
      422,
      'Invalid',
      `${type.kind}${type.group ? `.${type.group}` : ''} "${name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join(', ')}`,
      {
        name,
        ...(type.group ? { group: type.group } : {}),
        kind: type.kind,
        causes: causes.map((c) => ({ reason: c.reason ?? 'FieldValueInvalid', message: c.message, field: c.field })),
      },
    ),
  badRequest: (message: string) => failure(400, 'BadRequest', message),
  methodNotAllowed: () =>
    failure(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource', {}),
  unsupportedMediaType: (contentType: string) =>
    failure(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format (${contentType}) - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
    ),
  unauthorized: () => failure(401, 'Unauthorized', 'Unauthorized'),
  expired: (message: string) => failure(410, 'Expired', message),
  terminating: (namespace: string, type: ResourceType, name: string) =>
    failure(
      403,
      'Forbidden',
      `${qualifiedResource(type)} "${name}" is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`,
      detailsFor(type, name),
    ),
};

export function successStatus(type: ResourceType, name: string, uid: string): StatusBody {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: { ...detailsFor(type, name), uid },
    code: 200,
  };
}
