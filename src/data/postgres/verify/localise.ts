/**
 * Finds the exact keys behind a mismatching key range: split the range (on the side with more
 * rows) into `fanout` parts, hash the parts on both sides in one scan each, and descend only into
 * the parts that differ; once a part is small, compare one hash per row. Keys on one side only
 * are missing or extra; keys on both with different row hashes are changed.
 */
import { aggregateSplit, keysIn, rowHashes, sameAggregate, splitKeys, type Aggregate } from './range-ops.js';
import type { SessionPool } from './session-pool.js';
import type { TablePlan } from './table-plan.js';
import type { Key, KeyRange } from './types.js';

export interface Differences {
  missing: Key[];
  extra: Key[];
  changed: Key[];
}

export interface LocaliseContext {
  plan: TablePlan;
  hash: string;
  source: SessionPool;
  target: SessionPool;
  /** Rows at or below which a range is compared row by row (one hash per row). */
  leafRows: number;
  fanout: number;
  /** Shared budget of keys per table; when spent, localisation stops and marks `truncated`. */
  budget: { left: number; truncated: boolean };
  signal?: AbortSignal;
}

export function emptyDifferences(): Differences {
  return { missing: [], extra: [], changed: [] };
}

export async function localise(
  ctx: LocaliseContext,
  range: KeyRange,
  source: Aggregate,
  target: Aggregate,
  out: Differences,
): Promise<void> {
  ctx.signal?.throwIfAborted();
  if (sameAggregate(source, target)) return;
  if (ctx.budget.left <= 0) {
    ctx.budget.truncated = true;
    return;
  }
  const { plan } = ctx;
  if (source.rows === 0 || target.rows === 0) {
    const side = source.rows === 0 ? ctx.target : ctx.source;
    const rows = Math.max(source.rows, target.rows);
    const keys = await side.use((client) => keysIn(client, plan, range, Math.min(rows, ctx.budget.left)));
    spend(ctx, keys.length, rows);
    (source.rows === 0 ? out.extra : out.missing).push(...keys);
    return;
  }
  const rows = Math.max(source.rows, target.rows);
  if (rows > ctx.leafRows) {
    const bigger = source.rows >= target.rows ? ctx.source : ctx.target;
    const bounds = await bigger.use((client) => splitKeys(client, plan, range, rows, ctx.fanout));
    if (bounds.length > 0) {
      const [sourceParts, targetParts] = await Promise.all([
        ctx.source.use((client) => aggregateSplit(client, plan, ctx.hash, range, bounds)),
        ctx.target.use((client) => aggregateSplit(client, plan, ctx.hash, range, bounds)),
      ]);
      for (let i = 0; i <= bounds.length; i++) {
        const part: KeyRange = {
          lower: i === 0 ? range.lower : (bounds[i - 1] as Key),
          upper: i === bounds.length ? range.upper : (bounds[i] as Key),
        };
        await localise(ctx, part, sourceParts[i] as Aggregate, targetParts[i] as Aggregate, out);
      }
      return;
    }
  }
  await compareRows(ctx, range, out);
}

async function compareRows(ctx: LocaliseContext, range: KeyRange, out: Differences): Promise<void> {
  const [sourceRows, targetRows] = await Promise.all([
    ctx.source.use((client) => rowHashes(client, ctx.plan, ctx.hash, range)),
    ctx.target.use((client) => rowHashes(client, ctx.plan, ctx.hash, range)),
  ]);
  const targetByKey = new Map(targetRows.map((row) => [JSON.stringify(row.key), row.hash]));
  const sourceKeys = new Set<string>();
  const found: Differences = emptyDifferences();
  for (const row of sourceRows) {
    const id = JSON.stringify(row.key);
    sourceKeys.add(id);
    const other = targetByKey.get(id);
    if (other === undefined) found.missing.push(row.key);
    else if (other !== row.hash) found.changed.push(row.key);
  }
  for (const row of targetRows) {
    if (!sourceKeys.has(JSON.stringify(row.key))) found.extra.push(row.key);
  }
  const total = found.missing.length + found.extra.length + found.changed.length;
  let left = ctx.budget.left;
  for (const kind of ['missing', 'extra', 'changed'] as const) {
    const take = found[kind].slice(0, Math.max(0, left));
    left -= take.length;
    out[kind].push(...take);
  }
  spend(ctx, Math.min(total, ctx.budget.left), total);
}

function spend(ctx: LocaliseContext, taken: number, wanted: number): void {
  ctx.budget.left -= taken;
  if (taken < wanted) ctx.budget.truncated = true;
}
