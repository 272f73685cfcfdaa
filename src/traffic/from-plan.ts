/**
 * The built-in router's options from a plan: the sites' endpoints, `spec.traffic.router` (listen,
 * admin), `reads.methods`/`reads.paths` and `consistency`. The engine starts the router in-process
 * with these (`createBuiltinRouter`) or runs `handoff router` with the same settings.
 */
import { InputError } from '../common/errors.js';
import { parseDuration } from '../common/duration.js';
import type { Migration } from '../plan/schema.js';
import { parseAddress, type RouterOptionsInput } from './builtin/options.js';

export function builtinRouterOptionsFromPlan(spec: Migration['spec'], adminToken?: string): RouterOptionsInput {
  const traffic = spec.traffic;
  if (traffic === undefined)
    throw new InputError('spec.traffic: the plan has no traffic section, so there is no router to start');
  const { router } = traffic;
  if (router.kind !== 'builtin') {
    throw new InputError(`spec.traffic.router.kind: "${router.kind}" is not the built-in router`);
  }
  const sites: Record<string, string> = {};
  for (const name of ['source', 'target'] as const) {
    const endpoint = spec[name].endpoint;
    if (endpoint === undefined) {
      throw new InputError(
        `spec.${name}.endpoint: the built-in router needs the URL where the service answers on each site`,
      );
    }
    sites[name] = endpoint;
  }
  const consistency = traffic.consistency;
  return {
    listen: parseAddress(router.listen, 'spec.traffic.router.listen'),
    admin: router.admin === undefined ? null : parseAddress(router.admin, 'spec.traffic.router.admin'),
    ...(adminToken === undefined ? {} : { adminToken }),
    sites,
    ...(traffic.reads.methods === undefined ? {} : { readMethods: traffic.reads.methods }),
    ...(traffic.reads.paths === undefined ? {} : { readPaths: traffic.reads.paths }),
    ...(consistency === undefined
      ? {}
      : {
          stickyAfterWriteMs: parseDuration(consistency.stickyAfterWrite),
          maxReadLagMs: parseDuration(consistency.maxReadLag),
        }),
    ...(traffic.cutover === undefined
      ? {}
      : { maxHoldLimitMs: Math.max(60_000, parseDuration(traffic.cutover.maxHold)) }),
  };
}
