/**
 * The proxies of one fault proxy and the operations of Toxiproxy's API on them. Bodies arrive
 * untyped (from HTTP or a library call) and are validated before anything changes; errors are
 * HandoffErrors (400 bad input, 404 not found, 409 exists or address in use).
 */
import { HandoffError } from '../common/errors.js';
import type { EventBus } from '../common/events.js';
import type { Logger } from '../common/logger.js';
import './events.js';
import { parsePopulateBody, parseProxyBody, parseProxyUpdate, type ProxyBody } from './proxy-body.js';
import { createTcpProxy, formatAddress, type ProxyInfo, type TcpProxy } from './proxy.js';
import { applyToxicPatch, parseToxicInput, type ToxicSpec } from './toxic-spec.js';

export interface CollectionSettings {
  maxBufferedBytes: number;
  connectTimeoutMs: number;
  random?: () => number;
}

export interface ProxyCollection {
  list(): ProxyInfo[];
  get(name: string): ProxyInfo;
  create(body: unknown): Promise<ProxyInfo>;
  /** Creates or replaces each proxy of the list; one whose listen and upstream are unchanged is kept. */
  populate(body: unknown): Promise<ProxyInfo[]>;
  update(name: string, body: unknown): Promise<ProxyInfo>;
  remove(name: string): Promise<void>;
  toxics(proxy: string): ToxicSpec[];
  getToxic(proxy: string, toxic: string): ToxicSpec;
  addToxic(proxy: string, body: unknown): ToxicSpec;
  updateToxic(proxy: string, toxic: string, body: unknown): ToxicSpec;
  removeToxic(proxy: string, toxic: string): void;
  /** Enables every proxy and removes every toxic. */
  reset(): Promise<void>;
  connectionCount(proxy: string): number;
  close(): Promise<void>;
}

function notFound(what: 'proxy' | 'toxic', name: string): HandoffError {
  return new HandoffError('not-found', `${what} not found: there is no ${what} named "${name}"`);
}

export interface CollectionDeps {
  logger: Logger;
  /** Where changes of proxies and toxics are told (see events.ts); none when left out. */
  events?: EventBus;
}

export function createProxyCollection(settings: CollectionSettings, deps: CollectionDeps): ProxyCollection {
  const proxies = new Map<string, TcpProxy>();
  const meta = (proxy: string) => ({ actor: 'faultproxy', subject: proxy });
  const setEnabled = async (entry: TcpProxy, enabled: boolean): Promise<void> => {
    const before = entry.info().enabled;
    await (enabled ? entry.enable() : entry.disable());
    if (before !== enabled)
      deps.events?.emit('faultproxy-proxy-enabled', { proxy: entry.name, enabled }, meta(entry.name));
  };
  // Operations that wait (listen, close) run one at a time, so two requests cannot interleave.
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(operation: () => Promise<T>): Promise<T> => {
    const result = queue.then(operation);
    queue = result.catch(() => undefined);
    return result;
  };

  const proxy = (name: string): TcpProxy => {
    const found = proxies.get(name);
    if (!found) throw notFound('proxy', name);
    return found;
  };
  const findToxic = (proxyName: string, toxicName: string): ToxicSpec => {
    const found = proxy(proxyName)
      .info()
      .toxics.find((toxic) => toxic.name === toxicName);
    if (!found) throw notFound('toxic', toxicName);
    return found;
  };

  /** Builds and (when enabled) starts a proxy with these toxics; registers it only once it listens. */
  const start = async (body: ProxyBody, toxics: readonly ToxicSpec[]): Promise<TcpProxy> => {
    const created = createTcpProxy(
      {
        name: body.name,
        listen: body.listen,
        upstream: body.upstream,
        maxBufferedBytes: settings.maxBufferedBytes,
        connectTimeoutMs: settings.connectTimeoutMs,
        ...(settings.random ? { random: settings.random } : {}),
      },
      { logger: deps.logger },
    );
    for (const toxic of toxics) created.addToxic(toxic);
    if (body.enabled) await created.enable();
    proxies.set(body.name, created);
    const { listen, upstream, enabled } = created.info();
    deps.events?.emit('faultproxy-proxy-added', { proxy: body.name, listen, upstream, enabled }, meta(body.name));
    return created;
  };
  const stop = async (name: string): Promise<void> => {
    const found = proxies.get(name);
    proxies.delete(name);
    await found?.disable();
    if (found) deps.events?.emit('faultproxy-proxy-removed', { proxy: name }, meta(name));
  };

  const populate = async (body: unknown): Promise<ProxyInfo[]> => {
    const parsed = parsePopulateBody(body);
    const result: ProxyInfo[] = [];
    for (const wanted of parsed) {
      const existing = proxies.get(wanted.name);
      const now = existing?.addresses();
      const same =
        now !== undefined &&
        formatAddress(now.upstream) === formatAddress(wanted.upstream) &&
        (wanted.listen.port === 0 || formatAddress(now.listen) === formatAddress(wanted.listen));
      if (existing && same) {
        await setEnabled(existing, wanted.enabled);
        result.push(existing.info());
        continue;
      }
      if (existing) await stop(wanted.name);
      result.push((await start(wanted, [])).info());
    }
    return result;
  };

  const update = async (name: string, body: unknown): Promise<ProxyInfo> => {
    const current = proxy(name);
    const patch = parseProxyUpdate(body);
    const now = current.addresses();
    const listen = patch.listen ?? now.listen;
    const upstream = patch.upstream ?? now.upstream;
    const wasEnabled = current.info().enabled;
    const enabled = patch.enabled ?? wasEnabled;
    const moved =
      formatAddress(listen) !== formatAddress(now.listen) || formatAddress(upstream) !== formatAddress(now.upstream);
    if (!moved) {
      await setEnabled(current, enabled);
      return current.info();
    }
    const toxics = current.info().toxics;
    await stop(name);
    try {
      return (await start({ name, listen, upstream, enabled }, toxics)).info();
    } catch (error) {
      // The new address failed (in use): put the proxy back as it was, then say why.
      await start({ name, listen: now.listen, upstream: now.upstream, enabled: wasEnabled }, toxics).catch(
        () => undefined,
      );
      throw error;
    }
  };

  return {
    list: () => [...proxies.values()].map((entry) => entry.info()),
    get: (name) => proxy(name).info(),
    create: (body) =>
      serial(async () => {
        const parsed = parseProxyBody(body);
        if (proxies.has(parsed.name)) {
          throw new HandoffError('state.conflict', `proxy already exists: a proxy named "${parsed.name}" exists`);
        }
        return (await start(parsed, [])).info();
      }),
    populate: (body) => serial(() => populate(body)),
    update: (name, body) => serial(() => update(name, body)),
    remove: (name) =>
      serial(async () => {
        proxy(name);
        await stop(name);
      }),
    toxics: (name) => proxy(name).info().toxics,
    getToxic: (proxyName, toxicName) => findToxic(proxyName, toxicName),
    addToxic(proxyName, body) {
      const target = proxy(proxyName);
      const spec = parseToxicInput(body);
      if (target.info().toxics.some((toxic) => toxic.name === spec.name)) {
        throw new HandoffError('state.conflict', `toxic already exists: "${spec.name}" is on proxy "${proxyName}"`);
      }
      target.addToxic(spec);
      deps.events?.emit('faultproxy-toxic-added', { proxy: proxyName, toxic: structuredClone(spec) }, meta(proxyName));
      return structuredClone(spec);
    },
    updateToxic(proxyName, toxicName, body) {
      const next = applyToxicPatch(findToxic(proxyName, toxicName), body);
      proxy(proxyName).updateToxic(next);
      deps.events?.emit(
        'faultproxy-toxic-updated',
        { proxy: proxyName, toxic: structuredClone(next) },
        meta(proxyName),
      );
      return structuredClone(next);
    },
    removeToxic(proxyName, toxicName) {
      findToxic(proxyName, toxicName);
      proxy(proxyName).removeToxic(toxicName);
      deps.events?.emit('faultproxy-toxic-removed', { proxy: proxyName, toxic: toxicName }, meta(proxyName));
    },
    reset: () =>
      serial(async () => {
        for (const entry of proxies.values()) {
          await setEnabled(entry, true);
          for (const toxic of entry.info().toxics) {
            entry.removeToxic(toxic.name);
            deps.events?.emit('faultproxy-toxic-removed', { proxy: entry.name, toxic: toxic.name }, meta(entry.name));
          }
        }
        deps.events?.emit('faultproxy-reset', { proxies: [...proxies.keys()] }, meta(''));
      }),
    connectionCount: (name) => proxy(name).connectionCount(),
    close: () =>
      serial(async () => {
        await Promise.all([...proxies.keys()].map((name) => stop(name)));
      }),
  };
}
