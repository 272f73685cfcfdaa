/**
 * The last look at a live pass's differing rows, one that replication lag cannot fool. A row-level
 * look right after a chunk's hashes reads both sides at once, so a row the source committed a moment
 * earlier is "missing" on the target until replication brings it. With synchronous commit that is a
 * few milliseconds; a source whose writers commit asynchronously (`synchronous_commit = off`) sends
 * a change only once the write-ahead log is flushed, up to `wal_writer_delay` (200 ms) later, and
 * under steady writes every re-check round found the newest rows still on their way.
 *
 * So for each differing key: read its row hash on the source (S1), wait until the target has every
 * change committed so far (`catchUp`: a marker written after that read), then read the target (T)
 * and the source again (S2).
 * - T = S1: the target had caught up with the row as it was: lag, not divergence.
 * - S1 ≠ S2: the source rewrote the row meanwhile; looked at again next round. A key still being
 *   rewritten after the last round is left to the cutover's check under the fence (it changed
 *   after the pass began, so the target's dirty-key record keeps it).
 * - S1 = S2 ≠ T: the row stood still on the source while the target, caught up past it, holds
 *   something else: divergence.
 */
import { packKeys, rowHashesForTables } from './range-ops.js';
import type { SessionPool } from './session-pool.js';
import type { TablePlan } from './table-plan.js';
import type { Key } from './types.js';

export interface MovingKeysTable {
  plan: TablePlan;
  hash: string;
  missing: readonly Key[];
  extra: readonly Key[];
  changed: readonly Key[];
}

export interface MovingKeysResult {
  /** What is left of each table's lists: the divergence, in the order the lists had it. */
  missing: Key[];
  extra: Key[];
  changed: Key[];
  /** Keys that matched once the target caught up. */
  caughtUp: number;
  /** Keys the source was still rewriting after the last round. */
  stillMoving: number;
}

export async function settleMovingKeys(input: {
  /** Pools, or single sessions wrapped as one (read one statement at a time). */
  source: Pick<SessionPool, 'use'>;
  target: Pick<SessionPool, 'use'>;
  tables: readonly MovingKeysTable[];
  rounds: number;
  catchUp: () => Promise<void>;
}): Promise<MovingKeysResult[]> {
  const { source, target, tables } = input;
  const states = tables.map((table) => {
    const all = [...table.missing, ...table.extra, ...table.changed];
    return {
      table,
      open: new Map(all.map((key) => [JSON.stringify(key), key])),
      diverged: new Set<string>(),
      caughtUp: 0,
    };
  });
  for (let round = 1; round <= input.rounds && states.some((state) => state.open.size > 0); round++) {
    const items = states.map((state) => ({
      plan: state.table.plan,
      hash: state.table.hash,
      keys: [...state.open.values()],
    }));
    const before = await hashes(source, items);
    await input.catchUp();
    const [onTarget, after] = await Promise.all([hashes(target, items), hashes(source, items)]);
    states.forEach((state, i) => {
      for (const [id] of state.open) {
        const s1 = before[i]?.get(id);
        const t = onTarget[i]?.get(id);
        const s2 = after[i]?.get(id);
        if (t === s1) {
          state.caughtUp++;
          state.open.delete(id);
        } else if (s1 === s2) {
          state.diverged.add(id);
          state.open.delete(id);
        }
      }
    });
  }
  return states.map((state) => {
    const keep = (keys: readonly Key[]): Key[] => keys.filter((key) => state.diverged.has(JSON.stringify(key)));
    return {
      missing: keep(state.table.missing),
      extra: keep(state.table.extra),
      changed: keep(state.table.changed),
      caughtUp: state.caughtUp,
      stillMoving: state.open.size,
    };
  });
}

/** Row hash by key (JSON of the key's text form), per table; a key whose row does not exist is absent. */
async function hashes(
  pool: Pick<SessionPool, 'use'>,
  items: ReadonlyArray<{ plan: TablePlan; hash: string; keys: readonly Key[] }>,
): Promise<Array<Map<string, string>>> {
  const out = items.map(() => new Map<string, string>());
  // In statements as the cutover's re-check reads them; each part remembers its item.
  for (const pack of packKeys(items.map((item, index) => ({ ...item, index })))) {
    const rows = await pool.use((client) => rowHashesForTables(client, pack));
    pack.forEach((part, i) => {
      for (const row of rows[i] ?? []) out[part.index]?.set(JSON.stringify(row.key), row.hash);
    });
  }
  return out;
}
