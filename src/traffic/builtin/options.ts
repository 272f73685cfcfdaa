/**
 * The built-in router's options, resolved (milliseconds, parsed addresses). `config.ts` turns a
 * config file and command-line flags into these; in-process callers build them directly.
 */
import { z } from 'zod';
import { RELEASE_CONCURRENCY } from './hold-queue.js';
import { InputError } from '../../common/errors.js';
import { describeZodError, SITE_NAME } from '../routes.js';
import { DEFAULT_READ_METHODS } from './classify.js';

export interface Address {
  host: string;
  port: number;
}

const address = z.object({ host: z.string().min(1), port: z.number().int().min(0).max(65535) });

const siteUrl = z.string().refine(
  (text) => {
    try {
      const url = new URL(text);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.search === '';
    } catch {
      return false;
    }
  },
  { error: 'must be an http:// or https:// URL without credentials or query, for example http://10.0.0.5:8080' },
);

export const routerOptionsSchema = z.strictObject({
  listen: address,
  /** The admin API's address; none: no admin listener (in-process use). */
  admin: address.nullable().default(null),
  /** The bearer token of the admin API (required when `admin` is set). */
  adminToken: z.string().min(16, { error: 'the admin token must be at least 16 characters' }).optional(),
  sites: z
    .record(z.string().regex(SITE_NAME, { error: 'site names are lower-case letters, digits and dashes' }), siteUrl)
    .refine((sites) => Object.keys(sites).length >= 1, { error: 'give at least one site' }),
  readMethods: z
    .array(z.string().regex(/^[A-Z]+$/, { error: 'methods are upper-case, like GET' }))
    .default([...DEFAULT_READ_METHODS]),
  /** When given, only reads whose path starts with one of these are reads. */
  readPaths: z.array(z.string().startsWith('/')).default([]),
  /** After a write, the client's reads go to the writer site this long (0: off). */
  stickyAfterWriteMs: z.number().int().min(0).max(86_400_000).default(5000),
  /** Reads go to a site that takes no writes only while its lag is at most this; null: no bound. */
  maxReadLagMs: z.number().int().min(0).nullable().default(500),
  maxQueued: z.number().int().min(0).max(1_000_000).default(1000),
  /** Held requests sent on at once when a hold is released (in arrival order; see hold-queue.ts). */
  releaseConcurrency: z.number().int().min(1).max(100_000).default(RELEASE_CONCURRENCY),
  /** The longest hold anyone may ask for. */
  maxHoldLimitMs: z.number().int().min(1).max(600_000).default(60_000),
  connectTimeoutMs: z.number().int().min(1).default(3000),
  headersTimeoutMs: z.number().int().min(1).default(30_000),
  bodyIdleTimeoutMs: z.number().int().min(1).default(30_000),
  /** Idle time after which a client connection is closed. */
  clientIdleTimeoutMs: z.number().int().min(1).default(60_000),
  connectionsPerSite: z.number().int().min(1).max(10_000).default(256),
});

export type RouterOptions = z.output<typeof routerOptionsSchema>;
export type RouterOptionsInput = z.input<typeof routerOptionsSchema>;

/** Validates options; InputError names each wrong field. */
export function resolveRouterOptions(input: RouterOptionsInput): RouterOptions {
  const parsed = routerOptionsSchema.safeParse(input);
  if (!parsed.success) throw new InputError(`router options: ${describeZodError(parsed.error)}`);
  const options = parsed.data;
  if (options.admin !== null && options.adminToken === undefined) {
    throw new InputError(
      'the admin API needs a bearer token: set HANDOFF_ROUTER_TOKEN or give --admin-token-file FILE',
    );
  }
  return options;
}

/** Parses `HOST:PORT` (`[::1]:8080` for IPv6). */
export function parseAddress(text: string, what: string): Address {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) {
    throw new InputError(`${what}: "${text}" is not HOST:PORT; write for example 127.0.0.1:8080`);
  }
  return { host: (match[1] ?? match[2]) as string, port };
}

export function formatAddress(address: Address): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}
