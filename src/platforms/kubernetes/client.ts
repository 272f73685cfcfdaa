/**
 * A small Kubernetes API client over the user's kubeconfig. @kubernetes/client-node reads the
 * kubeconfig and applies its authentication (tokens, client certificates, exec plugins, CA); the
 * requests themselves are plain JSON over node:http(s), so objects come back exactly as the server
 * sent them (the generated client would turn timestamps into Dates and drop unknown fields).
 * Every request has a timeout; the bearer token is registered with the redactor; errors are
 * AdapterErrors carrying the server's Status reason and code.
 */
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { AdapterError, InputError, messageOf } from '../../common/errors.js';
import type { Redactor } from '../../common/redact.js';
import { isObject, type KubeObject } from './objects.js';

export interface KubeClientOptions {
  context: string;
  /** Kubeconfig file; default: KUBECONFIG or ~/.kube/config, as kubectl. */
  kubeconfig?: string;
  /** Per-request timeout (default 30 s). */
  requestTimeoutMs?: number;
}

export interface KubeClientDeps {
  redactor: Redactor;
}

export interface KubeRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
}

export interface KubeClient {
  readonly context: string;
  readonly server: string;
  /** The parsed JSON response; throws KubeApiError on a non-2xx status. */
  request(request: KubeRequest): Promise<unknown>;
  /** GET that returns undefined on 404. */
  getOrUndefined(path: string, signal?: AbortSignal): Promise<KubeObject | undefined>;
}

/** A failed API call, with the server's reason (`NotFound`, `Conflict`, `Forbidden`...). */
export class KubeApiError extends AdapterError {
  readonly status: number;
  readonly reason: string;
  constructor(message: string, status: number, reason: string, cause?: unknown) {
    super(message, {
      details: { status, reason },
      retryable: status >= 500 || status === 429 || status === 409,
      cause,
    });
    this.status = status;
    this.reason = reason;
  }
}

function loadConfig(options: KubeClientOptions): KubeConfig {
  const config = new KubeConfig();
  try {
    if (options.kubeconfig) config.loadFromFile(options.kubeconfig);
    else config.loadFromDefault();
  } catch (error) {
    throw new InputError(`cannot read the kubeconfig ${options.kubeconfig ?? '(default)'}: ${messageOf(error)}`);
  }
  if (!config.getContextObject(options.context)) {
    const known = config.getContexts().map((c) => c.name);
    throw new InputError(
      `kubeconfig context "${options.context}" does not exist${known.length ? `; known contexts: ${known.join(', ')}` : ''}`,
    );
  }
  config.setCurrentContext(options.context);
  return config;
}

export function createKubeClient(options: KubeClientOptions, deps: KubeClientDeps): KubeClient {
  const config = loadConfig(options);
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new InputError(`kubeconfig context "${options.context}" names no cluster`);
  const server = cluster.server.replace(/\/+$/, '');
  const user = config.getCurrentUser();
  if (user?.token) deps.redactor.add(user.token);
  if (user?.password) deps.redactor.add(user.password);
  const timeoutMs = options.requestTimeoutMs ?? 30_000;

  /**
   * Applies the user's credentials. A kubeconfig `exec` plugin (aws, gke-gcloud-auth-plugin,
   * kubelogin) runs here, before any request timeout starts, and one waiting for a browser login
   * or a prompt never answers: the wait is bounded by the request timeout and the run's signal.
   */
  const authenticate = async (requestOptions: https.RequestOptions, signal?: AbortSignal): Promise<void> => {
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const plugin = user?.exec?.command;
    const stop = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new AdapterError(
              `the kubeconfig user of context "${options.context}" did not get its credentials within ${timeoutMs} ms` +
                (plugin ? ` (its exec plugin ${plugin} did not answer; run it by hand to see why)` : ''),
              { retryable: true },
            ),
          ),
        timeoutMs,
      );
      onAbort = () => reject(new AdapterError('the request was stopped: the run was aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([config.applyToHTTPSOptions(requestOptions), stop]);
    } finally {
      clearTimeout(timer);
      if (onAbort) signal?.removeEventListener('abort', onAbort);
    }
  };

  const request = async (req: KubeRequest): Promise<unknown> => {
    // Discovery issues a request per group version at once, all listening on the run's signal.
    if (req.signal) setMaxListeners(200, req.signal);
    const url = new URL(`${server}${req.path}`);
    for (const [key, value] of Object.entries(req.query ?? {}))
      if (value !== undefined) url.searchParams.set(key, value);
    const requestOptions: https.RequestOptions = { method: req.method, headers: { Accept: 'application/json' } };
    if (url.protocol === 'https:') await authenticate(requestOptions, req.signal);
    else if (user?.token) {
      // Plain HTTP (a local proxy or a test server): client-node refuses it, kubectl allows it; only a token applies.
      requestOptions.headers = { ...requestOptions.headers, Authorization: `Bearer ${user.token}` };
    }
    const authorization = (requestOptions.headers as Record<string, string> | undefined)?.Authorization;
    if (authorization) deps.redactor.add(authorization.replace(/^Bearer\s+/i, ''));
    const payload =
      req.body === undefined ? undefined : typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
    const headers: Record<string, string | number> = {
      ...(requestOptions.headers as Record<string, string>),
      Accept: 'application/json',
      'User-Agent': 'handoff',
    };
    if (payload !== undefined) {
      headers['Content-Type'] = req.contentType ?? 'application/json';
      headers['Content-Length'] = Buffer.byteLength(payload);
    }
    const transport = url.protocol === 'https:' ? https : http;
    const { agent, ...rest } = requestOptions;
    const target = `${req.method} ${url.pathname}`;
    return new Promise((resolve, reject) => {
      const call = transport.request(
        url,
        {
          ...rest,
          headers,
          ...(url.protocol === 'https:' && agent ? { agent } : {}),
          timeout: timeoutMs,
          signal: req.signal,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', (error) =>
            reject(new KubeApiError(`${target} on ${options.context}: ${messageOf(error)}`, 0, 'Network', error)),
          );
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown = text;
            try {
              body = text === '' ? undefined : (JSON.parse(text) as unknown);
            } catch {
              // A non-JSON body (a proxy's error page): keep the text for the message.
            }
            const status = response.statusCode ?? 0;
            if (status >= 200 && status < 300) return resolve(body);
            const reason = isObject(body) && typeof body.reason === 'string' ? body.reason : `HTTP${status}`;
            const message =
              isObject(body) && typeof body.message === 'string' ? body.message : String(text).slice(0, 200);
            reject(
              new KubeApiError(
                `${target} on context ${options.context}: ${message} (${reason}, ${status})`,
                status,
                reason,
              ),
            );
          });
        },
      );
      call.on('timeout', () => call.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      call.on('error', (error) =>
        reject(
          new KubeApiError(
            `${target} on context ${options.context} (${server}): ${messageOf(error)}`,
            0,
            'Network',
            error,
          ),
        ),
      );
      if (payload !== undefined) call.write(payload);
      call.end();
    });
  };

  return {
    context: options.context,
    server,
    request,
    getOrUndefined: async (path, signal) => {
      try {
        const body = await request({ method: 'GET', path, ...(signal ? { signal } : {}) });
        return isObject(body) ? (body as KubeObject) : undefined;
      } catch (error) {
        if (error instanceof KubeApiError && error.status === 404) return undefined;
        throw error;
      }
    },
  };
}
