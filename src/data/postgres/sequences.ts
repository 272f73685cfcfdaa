/**
 * Sequence sync at cutover and failback: logical replication does not carry sequences, so the new
 * writer's sequences are set from the old writer's (never moved backwards).
 */
import type pg from 'pg';
import { AdapterError } from '../../common/errors.js';
import { formatTable, quoteTable, type TableName } from './connect.js';
import { describeSequences, type SequenceInfo } from './catalog.js';

export interface SequenceSync {
  sequence: string;
  from: number;
  to: number;
  isCalled: boolean;
}

/**
 * Sets every sequence feeding `tables` on `to` from its value on `from`. Idempotent. A few round
 * trips whatever the number of sequences (it runs under the cutover's write pause): the sequences
 * (unless `known`, described before the pause), the values on both sides at once (one query
 * each), then every `setval` in one statement.
 */
export async function syncSequences(
  from: pg.Client,
  to: pg.Client,
  tables: readonly TableName[],
  known?: readonly SequenceInfo[],
): Promise<SequenceSync[]> {
  const sequences = known ?? (await describeSequences(from, tables));
  if (sequences.length === 0) return [];
  const names = sequences.map((seq) => quoteTable(seq.sequence));
  // Both sides at once; a sequence missing on the new writer is named only when the read fails.
  const [sourceValues, targetValues] = await Promise.all([readValues(from, names), readTargetValues(to, names)]);
  if (targetValues === 'missing') {
    const exists = await to.query<{ i: number; ok: boolean }>(
      `select i::int, to_regclass(name) is not null as ok from unnest($1::text[]) with ordinality as u(name, i)`,
      [names],
    );
    const missing = exists.rows.find((row) => !row.ok);
    const seq = missing ? sequences[missing.i - 1] : undefined;
    throw new AdapterError(
      `sequence ${seq ? formatTable(seq.sequence) : '?'} does not exist on the new writer; apply the schema there (preflight reports this as pg.sequence)`,
    );
  }
  const out: SequenceSync[] = [];
  const sets: Array<{ name: string; value: string; isCalled: boolean }> = [];
  sequences.forEach((seq, i) => {
    const row = sourceValues[i];
    if (!row) return;
    const cur = targetValues[i];
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
      return;
    }
    sets.push({ name: names[i] as string, value: row.last_value, isCalled: row.is_called });
    out.push({
      sequence: formatTable(seq.sequence),
      from: Number(source),
      to: Number(source),
      isCalled: row.is_called,
    });
  });
  if (sets.length > 0) {
    await to.query(
      `select setval(name::regclass, value::bigint, called)
         from unnest($1::text[], $2::text[], $3::bool[]) as u(name, value, called)`,
      [sets.map((x) => x.name), sets.map((x) => x.value), sets.map((x) => x.isCalled)],
    );
  }
  return out;
}

/** SQLSTATE undefined_table. */
const UNDEFINED_TABLE = '42P01';

/** `readValues` on the new writer; 'missing' when one of the sequences does not exist there. */
async function readTargetValues(
  client: pg.Client,
  names: readonly string[],
): Promise<Awaited<ReturnType<typeof readValues>> | 'missing'> {
  try {
    return await readValues(client, names);
  } catch (error) {
    if ((error as { code?: unknown }).code === UNDEFINED_TABLE) return 'missing';
    throw error;
  }
}

/** `last_value` and `is_called` of each sequence (quoted names, trusted: from the catalog), in order. */
async function readValues(
  client: pg.Client,
  names: readonly string[],
): Promise<Array<{ last_value: string; is_called: boolean } | undefined>> {
  const result = await client.query<{ i: number; last_value: string; is_called: boolean }>(
    names.map((name, i) => `select ${i}::int as i, last_value::text, is_called from ${name}`).join(' union all '),
  );
  const out: Array<{ last_value: string; is_called: boolean } | undefined> = new Array(names.length);
  for (const row of result.rows) out[row.i] = { last_value: row.last_value, is_called: row.is_called };
  return out;
}
