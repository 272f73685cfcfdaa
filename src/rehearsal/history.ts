/**
 * The operation history of a workload, as Jepsen records it: every operation is an `invoke` when a
 * client sends it and one completion, `ok` (it happened), `fail` (it definitely did not) or `info`
 * (unknown: a time-out, a connection error, a 5xx that is not a refusal). Written as JSON lines, one
 * operation a line, so an external checker can read it; streamed to a file through a small buffer
 * (bounded memory whatever the run's length).
 *
 * Operation kinds (`f`): `order`, `transfer`, `event` (writes, value `{ requestId, ... }`; the
 * completion's value adds the `id` the service gave), `read-order` (a read of one acknowledged order:
 * value `{ requestId, orderId }`, completion value `{ found }`), `read-total` (the bank's total:
 * completion value `{ total, negative }`).
 */
import fs from 'node:fs';
import { z } from 'zod';
import { InputError } from '../common/errors.js';

export const OP_TYPES = ['invoke', 'ok', 'fail', 'info'] as const;
export type OpType = (typeof OP_TYPES)[number];
export const WRITE_KINDS = ['order', 'transfer', 'event'] as const;
export type WriteKind = (typeof WRITE_KINDS)[number];
export const OP_KINDS = [...WRITE_KINDS, 'read-order', 'read-total'] as const;
export type OpKind = (typeof OP_KINDS)[number];

export interface HistoryOp {
  type: OpType;
  f: OpKind;
  /** The virtual client (Jepsen's process). */
  process: string;
  /** The operation's number, shared by its invoke and its completion (a client has many in flight). */
  op: number;
  /** Wall clock, epoch milliseconds. */
  time: number;
  value: Record<string, unknown>;
}

const opSchema = z.strictObject({
  type: z.enum(OP_TYPES),
  f: z.enum(OP_KINDS),
  process: z.string().min(1),
  op: z.number().int().nonnegative(),
  time: z.number().finite(),
  value: z.record(z.string(), z.unknown()),
});

export interface HistoryRecorder {
  record(op: HistoryOp): void;
  /** Operations recorded so far. */
  readonly count: number;
  /** Writes what is buffered and closes the file. Idempotent. */
  close(): void;
}

/** Buffered bytes before a write to the file (also written every `flushMs`). */
const FLUSH_BYTES = 64 * 1024;

/** Streams operations to `file` (created, mode 0600) as JSON lines. */
export function createHistoryFile(file: string, options: { flushMs?: number } = {}): HistoryRecorder {
  const fd = fs.openSync(file, 'w', 0o600);
  let buffer: string[] = [];
  let size = 0;
  let count = 0;
  let closed = false;
  const flush = (): void => {
    if (buffer.length === 0 || closed) return;
    fs.writeSync(fd, buffer.join(''));
    buffer = [];
    size = 0;
  };
  const timer = setInterval(flush, options.flushMs ?? 250);
  timer.unref();
  return {
    record(op) {
      if (closed) return;
      const line = `${JSON.stringify(op)}\n`;
      buffer.push(line);
      size += line.length;
      count++;
      if (size >= FLUSH_BYTES) flush();
    },
    get count() {
      return count;
    },
    close() {
      if (closed) return;
      clearInterval(timer);
      flush();
      closed = true;
      fs.closeSync(fd);
    },
  };
}

/** An in-memory recorder (tests, short runs). */
export function createHistoryMemory(): HistoryRecorder & { readonly ops: HistoryOp[] } {
  const ops: HistoryOp[] = [];
  return {
    ops,
    record: (op) => void ops.push(op),
    get count() {
      return ops.length;
    },
    close: () => undefined,
  };
}

/** Reads a history file; a malformed line is bad input (file and line named). */
export function readHistory(file: string): HistoryOp[] {
  const text = fs.readFileSync(file, 'utf8');
  const ops: HistoryOp[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      throw new InputError(`${file}:${index + 1}: not a JSON line`);
    }
    const result = opSchema.safeParse(parsed);
    if (!result.success) {
      const issue = result.error.issues[0];
      throw new InputError(`${file}:${index + 1}: ${issue?.path.join('.') || 'operation'}: ${issue?.message}`);
    }
    ops.push(result.data);
  });
  return ops;
}
