/**
 * Captures the source's answer as it streams to the client, for shadow comparison: the status and
 * headers given to `writeHead`, and the body chunks given to `write`/`end` (references, no copies),
 * up to a per-answer limit and a shared byte budget. The client's response is written exactly as
 * before; when a limit is passed the capture stops, frees what it held and says why.
 */
import type { ServerResponse } from 'node:http';
import type { DropReason } from '../../shadow/ledger.js';

export interface Captured {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  chunks: Buffer[];
  size: number;
  dropped: DropReason | null;
}

/** Bytes held by every capture at once, shared by the mirror. */
export interface ByteBudget {
  used: number;
  readonly limit: number;
}

export function lowerHeaders(headers: unknown): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {};
  if (headers === null || typeof headers !== 'object') return out;
  for (const [k, v] of Object.entries(headers as Record<string, unknown>)) {
    if (typeof v === 'string' || Array.isArray(v)) out[k.toLowerCase()] = v as string | string[];
    else if (typeof v === 'number') out[k.toLowerCase()] = String(v);
  }
  return out;
}

/** Wraps this one response's writeHead/write/end; returns what they see. */
export function captureResponse(res: ServerResponse, bodyLimit: number, budget: ByteBudget): Captured {
  const c: Captured = { status: 0, headers: {}, chunks: [], size: 0, dropped: null };
  const add = (chunk: unknown): void => {
    if (c.dropped !== null || chunk === undefined || chunk === null || typeof chunk === 'function') return;
    const buf = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.isBuffer(chunk) ? chunk : null;
    if (buf === null || buf.length === 0) return;
    c.size += buf.length;
    budget.used += buf.length;
    if (c.size > bodyLimit || budget.used > budget.limit) {
      c.dropped = c.size > bodyLimit ? 'body' : 'bytes';
      budget.used -= c.size;
      c.chunks = [];
      return;
    }
    c.chunks.push(buf);
  };
  const writeHead = res.writeHead;
  const write = res.write;
  const end = res.end;
  res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    c.status = Number(args[0]);
    const last = args[args.length - 1];
    if (typeof last === 'object' && last !== null) c.headers = lowerHeaders(last);
    return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as typeof res.writeHead;
  res.write = function (this: ServerResponse, ...args: unknown[]) {
    add(args[0]);
    return (write as (...a: unknown[]) => boolean).apply(this, args);
  } as typeof res.write;
  res.end = function (this: ServerResponse, ...args: unknown[]) {
    add(args[0]);
    return (end as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as typeof res.end;
  return c;
}
