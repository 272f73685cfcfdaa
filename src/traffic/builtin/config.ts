/**
 * `handoff router`'s configuration: a config file (YAML or JSON, `--config`) and command-line flags
 * with the same meaning (flags win), turned into RouterOptions. The admin token comes from
 * `--admin-token-file` (or `adminTokenFile` in the file), else HANDOFF_ROUTER_TOKEN; it is
 * registered with the redactor before anything can print it. The file is read with the plan files'
 * limits (config-file.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { InputError, messageOf } from '../../common/errors.js';
import { formatDuration, parseDuration } from '../../common/duration.js';
import type { Redactor } from '../../common/redact.js';
import { SITE_NAME } from '../routes.js';
import { readRouterConfigFile } from './config-file.js';
import {
  parseAddress,
  resolveRouterOptions,
  routerOptionsSchema,
  type RouterOptions,
  type RouterOptionsInput,
} from './options.js';

const duration = z.string().min(1);

export const routerConfigFileSchema = z.strictObject({
  listen: z.string().optional(),
  admin: z.string().optional(),
  adminTokenFile: z.string().optional(),
  sites: z.record(z.string(), z.string()).optional(),
  readMethods: z.array(z.string()).optional(),
  readPaths: z.array(z.string()).optional(),
  stickyAfterWrite: duration.optional(),
  maxReadLag: duration.optional(),
  maxQueued: z.number().int().min(0).optional(),
  maxHold: duration.optional(),
  connectionsPerSite: z.number().int().min(1).optional(),
  releaseConcurrency: z.number().int().min(1).optional(),
  timeouts: z
    .strictObject({
      connect: duration.optional(),
      headers: duration.optional(),
      bodyIdle: duration.optional(),
      clientIdle: duration.optional(),
    })
    .optional(),
});
export type RouterConfigFile = z.infer<typeof routerConfigFileSchema>;

/** The flags of `handoff router`, as commander gives them. */
export interface RouterFlags {
  listen?: string;
  admin?: string;
  site?: string[];
  config?: string;
  adminTokenFile?: string;
  readMethods?: string;
  readPaths?: string;
  stickyAfterWrite?: string;
  maxReadLag?: string;
  maxQueued?: string;
  maxHold?: string;
}

function durationMs(text: string, where: string): number {
  try {
    return parseDuration(text);
  } catch (error) {
    throw new InputError(`${where}: ${messageOf(error)}`);
  }
}

function parseSites(values: string[]): Record<string, string> {
  const sites: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    const name = eq > 0 ? value.slice(0, eq) : '';
    if (!SITE_NAME.test(name)) {
      throw new InputError(
        `--site "${value}": write NAME=URL with a lower-case name, for example --site source=http://10.0.0.5:8080`,
      );
    }
    if (sites[name] !== undefined) throw new InputError(`--site ${name}: given twice`);
    sites[name] = value.slice(eq + 1);
  }
  return sites;
}

const list = (text: string): string[] =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function readToken(file: string): string {
  let token: string;
  try {
    token = fs.readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new InputError(`admin token file ${file}: cannot read it: ${messageOf(error)}`);
  }
  if (token === '') throw new InputError(`admin token file ${file} is empty`);
  return token;
}

/** Builds validated router options from flags, an optional config file and the environment. */
export function loadRouterConfig(
  flags: RouterFlags,
  context: { cwd: string; env: NodeJS.ProcessEnv; redactor: Redactor },
): RouterOptions {
  const configPath = flags.config === undefined ? undefined : path.resolve(context.cwd, flags.config);
  const file: RouterConfigFile =
    configPath === undefined ? {} : readRouterConfigFile(configPath, routerConfigFileSchema);
  const where = (flag: string, key: string): string =>
    flags[flag as keyof RouterFlags] !== undefined
      ? `--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`
      : `${configPath}: ${key}`;

  const listen = flags.listen ?? file.listen;
  if (listen === undefined) throw new InputError('--listen HOST:PORT is required (or `listen` in --config)');
  const admin = flags.admin ?? file.admin;
  if (admin === undefined) throw new InputError('--admin HOST:PORT is required (or `admin` in --config)');
  const sites = { ...(file.sites ?? {}), ...parseSites(flags.site ?? []) };
  if (Object.keys(sites).length === 0) {
    throw new InputError('give the sites: --site source=URL --site target=URL (or `sites` in --config)');
  }

  const tokenFile =
    flags.adminTokenFile !== undefined
      ? path.resolve(context.cwd, flags.adminTokenFile)
      : file.adminTokenFile !== undefined
        ? path.resolve(path.dirname(configPath ?? context.cwd), file.adminTokenFile)
        : undefined;
  const token = tokenFile !== undefined ? readToken(tokenFile) : context.env.HANDOFF_ROUTER_TOKEN?.trim();
  if (token === undefined || token === '') {
    throw new InputError(
      'the admin API needs a bearer token: set HANDOFF_ROUTER_TOKEN or give --admin-token-file FILE',
    );
  }
  context.redactor.add(token);

  const sticky = flags.stickyAfterWrite ?? file.stickyAfterWrite;
  const lag = flags.maxReadLag ?? file.maxReadLag;
  const hold = flags.maxHold ?? file.maxHold;
  const queued = flags.maxQueued ?? file.maxQueued;
  const readMethods = flags.readMethods !== undefined ? list(flags.readMethods) : file.readMethods;
  const readPaths = flags.readPaths !== undefined ? list(flags.readPaths) : file.readPaths;
  const t = file.timeouts ?? {};
  const queuedNumber = typeof queued === 'string' ? Number(queued) : queued;
  if (queuedNumber !== undefined && !Number.isInteger(queuedNumber)) {
    throw new InputError(`${where('maxQueued', 'maxQueued')}: "${String(queued)}" is not a whole number`);
  }

  const input: RouterOptionsInput = {
    listen: parseAddress(listen, where('listen', 'listen')),
    admin: parseAddress(admin, where('admin', 'admin')),
    adminToken: token,
    sites,
    ...(readMethods === undefined ? {} : { readMethods: readMethods.map((m) => m.toUpperCase()) }),
    ...(readPaths === undefined ? {} : { readPaths }),
    ...(sticky === undefined
      ? {}
      : {
          stickyAfterWriteMs:
            sticky === '0' || sticky === 'off' ? 0 : durationMs(sticky, where('stickyAfterWrite', 'stickyAfterWrite')),
        }),
    ...(lag === undefined
      ? {}
      : { maxReadLagMs: lag === 'off' ? null : durationMs(lag, where('maxReadLag', 'maxReadLag')) }),
    ...(hold === undefined ? {} : { maxHoldLimitMs: durationMs(hold, where('maxHold', 'maxHold')) }),
    ...(queuedNumber === undefined ? {} : { maxQueued: queuedNumber }),
    ...(file.connectionsPerSite === undefined ? {} : { connectionsPerSite: file.connectionsPerSite }),
    ...(file.releaseConcurrency === undefined ? {} : { releaseConcurrency: file.releaseConcurrency }),
    ...(t.connect === undefined ? {} : { connectTimeoutMs: durationMs(t.connect, 'timeouts.connect') }),
    ...(t.headers === undefined ? {} : { headersTimeoutMs: durationMs(t.headers, 'timeouts.headers') }),
    ...(t.bodyIdle === undefined ? {} : { bodyIdleTimeoutMs: durationMs(t.bodyIdle, 'timeouts.bodyIdle') }),
    ...(t.clientIdle === undefined ? {} : { clientIdleTimeoutMs: durationMs(t.clientIdle, 'timeouts.clientIdle') }),
  };
  if (listen === admin && input.listen.port !== 0) {
    throw new InputError(
      `${where('admin', 'admin')}: the admin API needs an address of its own, not --listen's (${listen})`,
    );
  }
  // Each wrong value named where the user gave it (the flag, or the config file's key), in its units.
  const parsed = routerOptionsSchema.safeParse(input);
  if (!parsed.success) {
    const inFile = (key: string): string => `${configPath ?? 'the config file'}: ${key}`;
    const locate = (field: string, rest: PropertyKey[]): string => {
      const item = typeof rest[0] === 'number' ? ` (item ${rest[0] + 1})` : '';
      switch (field) {
        case 'listen':
        case 'admin':
        case 'readMethods':
        case 'readPaths':
        case 'maxQueued':
          return `${where(field, field)}${item}`;
        case 'adminToken':
          return tokenFile !== undefined ? `the admin token file ${tokenFile}` : 'HANDOFF_ROUTER_TOKEN';
        case 'sites': {
          const name = String(rest[0] ?? '');
          return name in parseSites(flags.site ?? []) ? `--site ${name}` : inFile(`sites.${name}`);
        }
        case 'stickyAfterWriteMs':
          return where('stickyAfterWrite', 'stickyAfterWrite');
        case 'maxReadLagMs':
          return where('maxReadLag', 'maxReadLag');
        case 'maxHoldLimitMs':
          return where('maxHold', 'maxHold');
        case 'connectTimeoutMs':
        case 'headersTimeoutMs':
        case 'bodyIdleTimeoutMs':
        case 'clientIdleTimeoutMs':
          return inFile(`timeouts.${field.slice(0, -'TimeoutMs'.length)}`);
        default:
          return inFile(field);
      }
    };
    throw new InputError(
      parsed.error.issues
        .map((issue) => {
          const [field, ...rest] = issue.path;
          const ms = typeof field === 'string' && field.endsWith('Ms');
          const bound = (value: unknown): string => (ms ? formatDuration(Number(value)) : String(value));
          const numeric = 'origin' in issue && (issue.origin === 'number' || issue.origin === 'int');
          const message =
            numeric && issue.code === 'too_big'
              ? `must be at most ${bound(issue.maximum)}`
              : numeric && issue.code === 'too_small'
                ? `must be at least ${bound(issue.minimum)}`
                : issue.message;
          return { at: locate(String(field), rest), message };
        })
        // One message per place: a huge number breaks the safe-integer bound and the field's own; the
        // field's own (checked last) is the one to tell.
        .filter((issue, index, all) => all.findLastIndex((other) => other.at === issue.at) === index)
        .map((issue) => `${issue.at}: ${issue.message}`)
        .join('; '),
    );
  }
  return resolveRouterOptions(input);
}
