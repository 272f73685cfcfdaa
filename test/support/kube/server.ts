/**
 * The Kubernetes API test server: an in-process node:http server on 127.0.0.1 that speaks the
 * Kubernetes REST protocol closely enough for the real `kubectl` and `@kubernetes/client-node`.
 * What it approximates is written in docs/kubernetes.md ("The API test server").
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAuthorizer, type Authorizer, type DenyRule } from './authorization.js';
import { createCatalog, groupVersionOf, type Catalog, type CatalogOptions, type ResourceType } from './catalog.js';
import { createController, type Controller } from './controller.js';
import {
  coreVersions,
  groupDocument,
  groupList,
  resourceList,
  versionDocument,
  type ServerVersion,
} from './discovery.js';
import { createObjectApi, type ObjectApi } from './objects.js';
import { fieldMatcher, labelMatcher } from './selectors.js';
import { KubeStatusError, statusErrors, successStatus, type StatusBody } from './status.js';
import { createStore, typeKey, type KubeObject, type Store, type StoreEvent } from './store.js';
import { openApiDocument, openApiIndex } from './openapi.js';
import { mergePatch } from './patch.js';
import { scaleOf } from './scale.js';
import { table } from './table.js';
import { handleWatch } from './watch.js';

export interface NodeSpec {
  name: string;
  arch?: string;
  cpu?: string;
  memory?: string;
  pods?: string;
  labels?: Record<string, string>;
}

export interface KubeTestServerOptions {
  port?: number;
  /** Server version reported by /version (default 1.31). */
  version?: ServerVersion;
  /** Group versions to leave out or add (see catalog.ts). */
  resources?: CatalogOptions;
  nodes?: NodeSpec[];
  /** When set, requests must carry `Authorization: Bearer <token>`. */
  token?: string;
  readyDelayMs?: number;
  /** The user requests are authenticated as (named in Forbidden messages; default `kube-test-user`). */
  user?: string;
  /** Requests RBAC denies with 403 Forbidden (see authorization.ts); more with `authorizer.deny`. */
  deny?: DenyRule[];
  /**
   * The service account token issuer (`--service-account-issuer`) served at
   * `/.well-known/openid-configuration` (default `https://kubernetes.default.svc.cluster.local`).
   */
  issuer?: string;
}

export interface RequestRecord {
  method: string;
  path: string;
  contentType?: string;
}

export interface KubeTestServer {
  url: string;
  port: number;
  store: Store;
  catalog: Catalog;
  objects: ObjectApi;
  controller: Controller;
  /** Allows every request except those its deny rules match (403 Forbidden, as RBAC answers). */
  authorizer: Authorizer;
  /** Every request received, in order (for asserting what a client did). */
  requests: RequestRecord[];
  /** Creates objects as a cluster admin would (namespace from the object). */
  seed(objects: Array<Record<string, unknown>>): KubeObject[];
  /** Reads an object by apiVersion, kind, namespace and name. */
  read(apiVersion: string, kind: string, name: string, namespace?: string): KubeObject | undefined;
  /** Objects of a kind (all namespaces unless given). */
  listKind(apiVersion: string, kind: string, namespace?: string): KubeObject[];
  /** Resolves once no object changed for `quietMs` (the controller has converged); bounded. */
  settled(quietMs?: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function send(res: http.ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendStatus(res: http.ServerResponse, body: StatusBody): void {
  send(res, body.code, body);
}

async function readBody(req: http.IncomingMessage, limit = 8 * 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > limit) throw statusErrors.badRequest('the request body is too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

interface Route {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

/** Resolves `/api/v1/...` and `/apis/<group>/<version>/...` paths to a type, namespace, name. */
function resolve(catalog: Catalog, group: string, version: string, rest: string[]): Route | undefined {
  const find = (plural: string | undefined): ResourceType | undefined =>
    plural === undefined ? undefined : catalog.find(group, version, plural);
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const type = find(rest[2]);
    if (type?.namespaced) {
      return {
        type,
        namespace: rest[1],
        ...(rest[3] ? { name: rest[3] } : {}),
        ...(rest[4] ? { subresource: rest[4] } : {}),
      };
    }
  }
  const type = find(rest[0]);
  if (!type || rest.length > 3) return undefined;
  return { type, ...(rest[1] ? { name: rest[1] } : {}), ...(rest[2] ? { subresource: rest[2] } : {}) };
}

function defaultManager(req: http.IncomingMessage): string {
  const agent = req.headers['user-agent'] ?? 'unknown';
  return agent.split('/')[0] || 'unknown';
}

export async function startKubeTestServer(options: KubeTestServerOptions = {}): Promise<KubeTestServer> {
  const catalog = createCatalog(options.resources);
  const store = createStore();
  const objects = createObjectApi(store, catalog);
  const controller = createController(store, catalog, objects, { readyDelayMs: options.readyDelayMs ?? 100 });
  const version = options.version ?? { major: '1', minor: '31' };
  const requests: RequestRecord[] = [];
  const authorizer = createAuthorizer(options.user ?? 'kube-test-user', options.deny);
  const openWatches = new Set<http.ServerResponse>();
  let address = '127.0.0.1:0';

  const admin = { fieldManager: 'test-setup', dryRun: false };
  const typeFor = (apiVersion: string, kind: string): ResourceType => {
    const type = catalog.byKind(apiVersion, kind);
    if (!type) throw new Error(`the test server does not serve ${apiVersion} ${kind}`);
    return type;
  };

  for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    objects.create(typeFor('v1', 'Namespace'), undefined, { metadata: { name } }, admin);
  }
  for (const node of options.nodes ?? [{ name: 'node-1' }]) {
    const arch = node.arch ?? 'amd64';
    const resources = {
      cpu: node.cpu ?? '8',
      memory: node.memory ?? '32Gi',
      pods: node.pods ?? '110',
      'ephemeral-storage': '100Gi',
    };
    const created = objects.create(
      typeFor('v1', 'Node'),
      undefined,
      {
        metadata: {
          name: node.name,
          labels: {
            'kubernetes.io/arch': arch,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/hostname': node.name,
            ...node.labels,
          },
        },
        spec: {},
      },
      admin,
    );
    created.status = {
      capacity: resources,
      allocatable: resources,
      conditions: [
        { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status' },
      ],
      nodeInfo: {
        architecture: arch,
        operatingSystem: 'linux',
        kubeletVersion: `v${version.major}.${version.minor}.0`,
        containerRuntimeVersion: 'containerd://1.7.0',
      },
    };
    objects.writeStatus(typeFor('v1', 'Node'), created);
  }

  const present = (type: ResourceType, object: KubeObject): KubeObject => ({
    ...object,
    apiVersion: groupVersionOf(type),
    kind: type.kind,
  });

  const handleCollection = (req: http.IncomingMessage, res: http.ServerResponse, url: URL, route: Route): void => {
    const labels = labelMatcher(url.searchParams.get('labelSelector'));
    const fields = fieldMatcher(url.searchParams.get('fieldSelector'));
    const matches = (object: KubeObject): boolean => labels(object) && fields(object);
    const watch = url.searchParams.get('watch');
    if (watch === '1' || watch === 'true') {
      handleWatch(req, res, url, {
        store,
        typeKey: typeKey(route.type),
        matches: (object) =>
          (route.namespace === undefined || object.metadata.namespace === route.namespace) && matches(object),
        present: (object) => present(route.type, object),
        list: () => store.list(route.type, route.namespace).filter(matches),
        open: openWatches,
      });
      return;
    }
    const all = store
      .list(route.type, route.namespace)
      .filter(matches)
      .map((o) => present(route.type, o));
    const limit = Number(url.searchParams.get('limit') ?? '0');
    const start = Number(Buffer.from(url.searchParams.get('continue') ?? '', 'base64').toString('utf8') || '0');
    const page = limit > 0 ? all.slice(start, start + limit) : all.slice(start);
    const next =
      limit > 0 && start + limit < all.length ? Buffer.from(String(start + limit)).toString('base64') : undefined;
    const rv = String(store.resourceVersion());
    if ((req.headers.accept ?? '').includes('as=Table')) {
      send(res, 200, table(page, url.searchParams.get('includeObject'), rv));
      return;
    }
    const custom = objects.isCustom(route.type);
    send(res, 200, {
      kind: `${route.type.kind}List`,
      apiVersion: groupVersionOf(route.type),
      metadata: {
        resourceVersion: rv,
        ...(next ? { continue: next, remainingItemCount: all.length - start - limit } : {}),
      },
      // The real server leaves kind and apiVersion out of built-in list items.
      items: page.map((object) => {
        if (custom) return object;
        const { apiVersion: _a, kind: _k, ...rest } = object;
        return rest;
      }),
    });
  };

  /** The `/scale` subresource (autoscaling/v1 Scale): read and change spec.replicas only. */
  const handleScale = async (
    req: http.IncomingMessage,
    res: http.ServerResponse,
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    write: { fieldManager: string; dryRun: boolean; force: boolean },
  ): Promise<void> => {
    const current = store.get(type, namespace, name);
    if (!current) return sendStatus(res, statusErrors.notFound(type, name).body);
    if (req.method === 'GET') return send(res, 200, scaleOf(current, name, namespace));
    if (req.method !== 'PATCH' && req.method !== 'PUT') return sendStatus(res, statusErrors.methodNotAllowed().body);
    const raw = await readBody(req);
    const body = parseJson(raw);
    const media = (req.headers['content-type'] ?? '').split(';')[0]?.trim() ?? '';
    const patched =
      req.method === 'PUT'
        ? body
        : media === 'application/json-patch+json'
          ? undefined
          : mergePatch(scaleOf(current, name, namespace), body);
    const replicas = isObject(patched) && isObject(patched.spec) ? patched.spec.replicas : undefined;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
      return sendStatus(
        res,
        statusErrors.invalid(type, name, [
          {
            field: 'spec.replicas',
            message: `Invalid value: ${JSON.stringify(replicas)}: must be a non-negative integer`,
          },
        ]).body,
      );
    }
    const next = { ...current, spec: { ...(isObject(current.spec) ? current.spec : {}), replicas } };
    const updated = objects.replace(type, namespace, name, next, write);
    return send(res, 200, scaleOf(updated, name, namespace));
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = req.method ?? 'GET';
    requests.push({
      method,
      path: `${url.pathname}${url.search}`,
      ...(req.headers['content-type'] ? { contentType: req.headers['content-type'] } : {}),
    });
    if (options.token && req.headers.authorization !== `Bearer ${options.token}`) {
      sendStatus(res, statusErrors.unauthorized().body);
      return;
    }
    const parts = url.pathname
      .split('/')
      .filter((p) => p !== '')
      .map(decodeURIComponent);
    if (url.pathname === '/version') return send(res, 200, versionDocument(version));
    if (['/healthz', '/readyz', '/livez'].includes(url.pathname)) {
      res.writeHead(200, { 'Content-Type': 'text/plain' });
      res.end('ok');
      return;
    }
    if (url.pathname === '/.well-known/openid-configuration') {
      // Service account issuer discovery (GA in 1.21), as kube-apiserver answers it.
      return send(res, 200, {
        issuer: options.issuer ?? 'https://kubernetes.default.svc.cluster.local',
        jwks_uri: `https://${address}/openid/v1/jwks`,
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
      });
    }
    if (url.pathname === '/openapi/v3') return send(res, 200, openApiIndex(catalog));
    if (url.pathname.startsWith('/openapi/v3/')) {
      const [kind, ...gv] = parts.slice(2);
      const document =
        kind === 'api' ? openApiDocument(catalog, '', gv[0] ?? '') : openApiDocument(catalog, gv[0] ?? '', gv[1] ?? '');
      if (document) return send(res, 200, document);
    }
    if (url.pathname === '/api') return send(res, 200, coreVersions(address));
    if (url.pathname === '/apis') return send(res, 200, groupList(catalog));
    let group: string;
    let groupVersion: string | undefined;
    let rest: string[];
    if (parts[0] === 'api') {
      group = '';
      groupVersion = parts[1];
      rest = parts.slice(2);
    } else if (parts[0] === 'apis') {
      group = parts[1] ?? '';
      groupVersion = parts[2];
      rest = parts.slice(3);
      if (groupVersion === undefined) {
        const document = groupDocument(catalog, group);
        if (document) return send(res, 200, document);
      }
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('404 page not found\n');
      return;
    }
    if (groupVersion === undefined) return sendStatus(res, statusErrors.noResource().body);
    if (rest.length === 0) {
      const document = resourceList(catalog, group, groupVersion);
      if (document) return send(res, 200, document);
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('404 page not found\n');
      return;
    }
    const route = resolve(catalog, group, groupVersion, rest);
    if (!route) return sendStatus(res, statusErrors.noResource().body);
    const { type } = route;
    const watch = url.searchParams.get('watch');
    const forbidden = authorizer.check({
      method,
      type,
      ...(route.namespace !== undefined ? { namespace: route.namespace } : {}),
      ...(route.name !== undefined ? { name: route.name } : {}),
      ...(route.subresource !== undefined ? { subresource: route.subresource } : {}),
      watch: watch === '1' || watch === 'true',
    });
    if (forbidden) return sendStatus(res, forbidden);
    if (type.deprecated) res.setHeader('Warning', `299 - "${type.deprecated}"`);
    const write = {
      fieldManager: url.searchParams.get('fieldManager') ?? defaultManager(req),
      dryRun: url.searchParams.get('dryRun') === 'All',
      force: url.searchParams.get('force') === 'true',
    };
    if (route.subresource === 'scale' && type.scale && route.name !== undefined)
      return handleScale(req, res, route.type, route.namespace, route.name, write);
    if (route.subresource !== undefined && route.subresource !== 'status')
      return sendStatus(res, statusErrors.noResource().body);
    if (route.subresource === 'status' && !type.status) return sendStatus(res, statusErrors.noResource().body);
    if (route.name === undefined) {
      if (method === 'GET') return handleCollection(req, res, url, route);
      if (method === 'POST') {
        const body = parseJson(await readBody(req));
        const created = objects.create(type, route.namespace, body, write);
        return send(res, 201, present(type, created));
      }
      if (method === 'DELETE') {
        const labels = labelMatcher(url.searchParams.get('labelSelector'));
        const removed = store
          .list(type, route.namespace)
          .filter(labels)
          .map((o) => objects.remove(type, o.metadata.namespace, o.metadata.name, { dryRun: write.dryRun }));
        return send(res, 200, {
          kind: `${type.kind}List`,
          apiVersion: groupVersionOf(type),
          metadata: {},
          items: removed,
        });
      }
      return sendStatus(res, statusErrors.methodNotAllowed().body);
    }
    const name = route.name;
    switch (method) {
      case 'GET': {
        const found = store.get(type, route.namespace, name);
        if (!found) return sendStatus(res, statusErrors.notFound(type, name).body);
        if ((req.headers.accept ?? '').includes('as=Table')) {
          return send(
            res,
            200,
            table(
              [present(type, found)],
              url.searchParams.get('includeObject'),
              String(found.metadata.resourceVersion),
            ),
          );
        }
        return send(res, 200, present(type, found));
      }
      case 'PUT': {
        const body = parseJson(await readBody(req));
        return send(
          res,
          200,
          present(type, objects.replace(type, route.namespace, name, body, write, route.subresource)),
        );
      }
      case 'PATCH': {
        const raw = await readBody(req);
        const result = objects.patch(
          type,
          route.namespace,
          name,
          req.headers['content-type'] ?? '',
          raw,
          write,
          route.subresource,
        );
        return send(res, result.created ? 201 : 200, present(type, result.object));
      }
      case 'DELETE': {
        const raw = await readBody(req);
        const body = raw.trim() === '' ? {} : parseJson(raw);
        const policy =
          url.searchParams.get('propagationPolicy') ??
          (isObject(body) && typeof body.propagationPolicy === 'string' ? body.propagationPolicy : undefined);
        const removed = objects.remove(type, route.namespace, name, {
          dryRun: write.dryRun,
          ...(policy ? { propagationPolicy: policy } : {}),
        });
        if (removed.metadata.deletionTimestamp) return send(res, 200, present(type, removed));
        if (type.group === '' && type.plural === 'namespaces') return send(res, 200, present(type, removed));
        return send(
          res,
          200,
          objects.isCustom(type) ? present(type, removed) : successStatus(type, name, String(removed.metadata.uid)),
        );
      }
      default:
        return sendStatus(res, statusErrors.methodNotAllowed().body);
    }
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof KubeStatusError) sendStatus(res, error.body);
      else {
        const message = error instanceof Error ? error.message : String(error);
        send(res, 500, {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message,
          reason: 'InternalError',
          code: 500,
        });
      }
    });
  });
  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolvePromise());
  });
  const port = (server.address() as AddressInfo).port;
  address = `127.0.0.1:${port}`;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    store,
    catalog,
    objects,
    controller,
    authorizer,
    requests,
    seed: (list) =>
      list.map((object) => {
        const apiVersion = String(object.apiVersion);
        const kind = String(object.kind);
        const type = typeFor(apiVersion, kind);
        const metadata = isObject(object.metadata) ? object.metadata : {};
        const namespace = type.namespaced ? String(metadata.namespace ?? 'default') : undefined;
        const created = objects.create(type, namespace, structuredClone(object), admin);
        if (object.status !== undefined)
          return objects.writeStatus(type, { ...created, status: structuredClone(object.status) });
        return created;
      }),
    read: (apiVersion, kind, name, namespace) => {
      const type = catalog.byKind(apiVersion, kind);
      return type ? store.get(type, namespace, name) : undefined;
    },
    listKind: (apiVersion, kind, namespace) => {
      const type = catalog.byKind(apiVersion, kind);
      return type ? store.list(type, namespace) : [];
    },
    settled: async (quietMs = 200, timeoutMs = 15_000) => {
      const started = Date.now();
      let last = store.resourceVersion();
      let since = Date.now();
      while (Date.now() - since < quietMs) {
        if (Date.now() - started > timeoutMs) throw new Error(`the test server did not settle within ${timeoutMs} ms`);
        await new Promise((resolvePromise) => setTimeout(resolvePromise, 20));
        const now = store.resourceVersion();
        if (now !== last) {
          last = now;
          since = Date.now();
        }
      }
    },
    close: async () => {
      controller.close();
      for (const res of openWatches) res.end();
      openWatches.clear();
      server.closeAllConnections();
      await new Promise<void>((resolvePromise) => server.close(() => resolvePromise()));
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw statusErrors.badRequest(`the request body is not valid JSON: ${text.slice(0, 80)}`);
  }
}

export type { StoreEvent };
