/**
 * The rehearsal's network paths, each through a proxy of the fault proxy (in this process), so a
 * network fault can sit on exactly one of them:
 * - `replication`: the source's superuser URL handoff is given (`spec.source.databases.shop`). The
 *   target's subscription gets its connection string from that URL (replication-connect.ts), so the
 *   target PostgreSQL's connection to the source goes through this proxy; handoff's own sessions on
 *   the source do too (there is no separate setting for the subscriber's connection in a plan).
 * - `service-to-source-db`, `service-to-target-db`: each site's application URL (the service's
 *   DATABASE_URL, `{{db.app}}`).
 * - `router-to-source`, `router-to-target`: the router's upstream for each site's service, which is
 *   the HTTP fault shim in front of that service (http faults: 503s, added latency).
 * Without `enabled`, every URL is the direct one and `proxyFor` is empty.
 */
import { freePort } from '../common/net.js';
import { createFaultProxy, type FaultProxy } from '../faultproxy/fault-proxy.js';
import { createHttpFaultShim } from './faults/http-shim.js';
import type { HttpFaultShim } from './faults/types.js';
import type { DemoDatabases } from '../demo/demo-sites.js';
import type { NetworkPath, SiteName } from './faults/types.js';

export interface NetworkPaths {
  faultProxy?: FaultProxy;
  proxyFor: Partial<Record<NetworkPath, string>>;
  /** The database URLs the plan's sites are given (`shop`: handoff's, `app`: the service's). */
  databases: Record<SiteName, { shop: string; app: string }>;
  /** The HTTP fault shim in front of each site's service (between the router's proxy and the service). */
  httpShim: Partial<Record<SiteName, HttpFaultShim>>;
  /** The URL the router sends each site's requests to. */
  routerUpstream: Record<SiteName, string>;
  close(): Promise<void>;
}

export interface NetworkPathsOptions {
  enabled: boolean;
  dbs: DemoDatabases;
  /** `host:port` of each site's service. */
  services: Record<SiteName, string>;
}

function hostPort(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port}`;
}

/** The same URL with another host:port (credentials, database and parameters kept). */
function via(url: string, listen: string): string {
  const parsed = new URL(url);
  const [host, port] = listen.split(':') as [string, string];
  parsed.hostname = host;
  parsed.port = port;
  return parsed.toString();
}

export async function startNetworkPaths(options: NetworkPathsOptions): Promise<NetworkPaths> {
  const { dbs, services } = options;
  const direct: NetworkPaths = {
    proxyFor: {},
    databases: {
      source: { shop: dbs.source.shopUrl, app: dbs.source.appUrl },
      target: { shop: dbs.target.shopUrl, app: dbs.target.appUrl },
    },
    routerUpstream: { source: `http://${services.source}`, target: `http://${services.target}` },
    httpShim: {},
    close: async () => undefined,
  };
  if (!options.enabled) return direct;
  const faultProxy = await createFaultProxy();
  const shims: Partial<Record<SiteName, HttpFaultShim>> = {};
  const closeAll = async (): Promise<void> => {
    await faultProxy.close();
    await Promise.all(Object.values(shims).map((shim) => shim.close()));
  };
  try {
    // router -> fault proxy (router-to-SITE) -> HTTP fault shim -> the site's service.
    for (const site of ['source', 'target'] as const)
      shims[site] = await createHttpFaultShim({ upstream: `http://${services[site]}` });
    const shimAt = (site: SiteName): string => new URL((shims[site] as HttpFaultShim).url).host;
    const upstreams: Record<NetworkPath, string> = {
      replication: hostPort(dbs.source.shopUrl),
      'service-to-source-db': hostPort(dbs.source.appUrl),
      'service-to-target-db': hostPort(dbs.target.appUrl),
      'router-to-source': shimAt('source'),
      'router-to-target': shimAt('target'),
    };
    const listen: Partial<Record<NetworkPath, string>> = {};
    for (const [name, upstream] of Object.entries(upstreams) as Array<[NetworkPath, string]>) {
      // A fixed port: a proxy taken down and up again listens where its clients look.
      const info = await faultProxy.addProxy({ name, upstream, listen: `127.0.0.1:${await freePort()}` });
      listen[name] = info.listen;
    }
    const at = (name: NetworkPath): string => listen[name] as string;
    return {
      faultProxy,
      proxyFor: Object.fromEntries(Object.keys(upstreams).map((name) => [name, name])),
      databases: {
        source: {
          shop: via(dbs.source.shopUrl, at('replication')),
          app: via(dbs.source.appUrl, at('service-to-source-db')),
        },
        target: { shop: dbs.target.shopUrl, app: via(dbs.target.appUrl, at('service-to-target-db')) },
      },
      routerUpstream: { source: `http://${at('router-to-source')}`, target: `http://${at('router-to-target')}` },
      httpShim: shims,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
