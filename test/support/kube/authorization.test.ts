import { describe, expect, it } from 'vitest';
import { createAuthorizer, verbOf } from './authorization.js';
import { builtinTypes, type ResourceType } from './catalog.js';

function type(plural: string, group = ''): ResourceType {
  const found = builtinTypes.find((t) => t.plural === plural && t.group === group);
  if (!found) throw new Error(`no type ${plural}`);
  return found;
}

describe('the API test server authorizer', () => {
  it('derives the RBAC verb from method, name and watch as the API server does', () => {
    expect(verbOf({ method: 'GET', name: 'x', watch: false })).toBe('get');
    expect(verbOf({ method: 'GET', watch: false })).toBe('list');
    expect(verbOf({ method: 'GET', watch: true })).toBe('watch');
    expect(verbOf({ method: 'POST', watch: false })).toBe('create');
    expect(verbOf({ method: 'PUT', name: 'x', watch: false })).toBe('update');
    expect(verbOf({ method: 'PATCH', name: 'x', watch: false })).toBe('patch');
    expect(verbOf({ method: 'DELETE', name: 'x', watch: false })).toBe('delete');
    expect(verbOf({ method: 'DELETE', watch: false })).toBe('deletecollection');
  });

  it('allows what no rule denies, and answers a denied request with the RBAC Forbidden Status', () => {
    const authorizer = createAuthorizer('alice', [
      { verb: 'get', group: '', resource: 'secrets', namespace: 'shop', name: 'db' },
    ]);
    expect(
      authorizer.check({ method: 'GET', type: type('secrets'), namespace: 'shop', name: 'other', watch: false }),
    ).toBeUndefined();
    expect(
      authorizer.check({ method: 'GET', type: type('secrets'), namespace: 'prod', name: 'db', watch: false }),
    ).toBeUndefined();
    expect(authorizer.check({ method: 'GET', type: type('secrets'), namespace: 'shop', watch: false })).toBeUndefined();
    expect(
      authorizer.check({ method: 'GET', type: type('secrets'), namespace: 'shop', name: 'db', watch: false }),
    ).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'secrets "db" is forbidden: User "alice" cannot get resource "secrets" in API group "" in the namespace "shop"',
      reason: 'Forbidden',
      details: { name: 'db', kind: 'secrets' },
      code: 403,
    });
  });

  it('words collections, cluster-scoped resources, other groups and subresources as the API server does', () => {
    const authorizer = createAuthorizer('bob');
    const removeList = authorizer.deny({ resource: 'secrets' });
    expect(authorizer.check({ method: 'GET', type: type('secrets'), namespace: 'shop', watch: false })?.message).toBe(
      'secrets is forbidden: User "bob" cannot list resource "secrets" in API group "" in the namespace "shop"',
    );
    removeList();
    expect(authorizer.check({ method: 'GET', type: type('secrets'), namespace: 'shop', watch: false })).toBeUndefined();
    authorizer.deny({ resource: 'nodes' });
    expect(authorizer.check({ method: 'GET', type: type('nodes'), watch: true })?.message).toBe(
      'nodes is forbidden: User "bob" cannot watch resource "nodes" in API group "" at the cluster scope',
    );
    authorizer.deny({ group: 'apps', resource: 'deployments/scale' });
    const scale = authorizer.check({
      method: 'PATCH',
      type: type('deployments', 'apps'),
      namespace: 'shop',
      name: 'web',
      subresource: 'scale',
      watch: false,
    });
    expect(scale?.message).toBe(
      'deployments.apps "web" is forbidden: User "bob" cannot patch resource "deployments/scale" in API group "apps" in the namespace "shop"',
    );
    expect(scale?.details).toEqual({ name: 'web', group: 'apps', kind: 'deployments' });
    expect(
      authorizer.check({
        method: 'PATCH',
        type: type('deployments', 'apps'),
        namespace: 'shop',
        name: 'web',
        watch: false,
      }),
    ).toBeUndefined();
  });
});
