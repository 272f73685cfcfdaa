/**
 * Sequence sync at cutover and failback: logical replication does not carry sequences, so the new
 * writer's sequences are set from the old writer's (never moved backwards).
 */
import type pg from 'pg';
import { AdapterError } from '../../common/errors.js';
import { formatTable, quoteTable, type TableName } from './connect.js';
import { describeSequences } from './catalog.js';

export interface SequenceSync {
  sequence: string;
  from: number;
  to: number;
  isCalled: boolean;
}

/** Sets every sequence feeding `tables` on `to` from its value on `from`. Idempotent. */
export async function syncSequences(
  from: pg.Client,
  to: pg.Client,
  tables: readonly TableName[],
): Promise<SequenceSync[]> {
  const sequences = await describeSequences(from, tables);
  const out: SequenceSync[] = [];
  for (const seq of sequences) {
    const name = quoteTable(seq.sequence);
    const value = await from.query<{ last_value: string; is_called: boolean }>(
      `select last_value::text, is_called from ${name}`,
    );
    const row = value.rows[0];
    if (!row) continue;
    const exists = await to.query<{ ok: boolean }>(`select to_regclass($1) is not null as ok`, [name]);
    if (!exists.rows[0]?.ok) {
      throw new AdapterError(
        `sequence ${formatTable(seq.sequence)} does not exist on the new writer; apply the schema there (preflight reports this as pg.sequence)`,
      );
    }
    const current = await to.query<{ last_value: string; is_called: boolean }>(
      `select last_value::text, is_called from ${name}`,
    );
    const cur = current.rows[0];
    const source = BigInt(row.last_value);
    const target = cur ? BigInt(cur.last_value) : 0n;
    // Never move a sequence backwards: the new writer may already have handed out higher values.
    if (cur && (target > source || (target === source && (cur.is_called || !row.is_called)))) {
      out.push({
        sequence: formatTable(seq.sequence),
        from: Number(source),
        to: Number(target),
        isCalled: cur.is_called,
      });
      continue;
    }
    await to.query(`select setval($1::regclass, $2::bigint, $3)`, [name, row.last_value, row.is_called]);
    out.push({
      sequence: formatTable(seq.sequence),
      from: Number(source),
      to: Number(source),
      isCalled: row.is_called,
    });
  }
  return out;
}
