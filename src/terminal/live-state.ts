/**
 * What the terminal view keeps from a run's event stream between two screens: copy and
 * verification progress per table (with samples for the rate), the latest weights, replication lag
 * per database and throttle pauses. Events come from the audit trail (`action` is the event type,
 * `details` its data) or from the run's own bus; both are read as LiveEvent. Folding is pure apart
 * from updating the state object it is given; unknown events and fields of another type are ignored.
 */
import { addSample, type ProgressSample } from './progress.js';

export interface LiveEvent {
  /** ISO 8601. */
  time: string;
  type: string;
  subject: string;
  data: Record<string, unknown>;
}

export interface TableProgress {
  database: string | null;
  table: string;
  /** chunks (verify), rows (copy). */
  unit: 'chunks' | 'rows';
  done: number;
  total: number | null;
  rows: number;
  samples: ProgressSample[];
  /** Samples of rows (for rows/s when the unit is chunks). */
  rowSamples: ProgressSample[];
  finished: boolean;
  /** Which pass of the table this is: 1, then 2, 3 for the re-checks of mismatching chunks. */
  pass: number;
  updatedAt: number;
}

export interface CopyProgress {
  database: string;
  tablesDone: number;
  tablesTotal: number;
  ready: boolean;
  tables: TableProgress[];
  updatedAt: number;
}

export interface LiveState {
  verify: Map<string, TableProgress>;
  copy: Map<string, CopyProgress>;
  weights: { reads: Record<string, number>; writes: Record<string, number>; reason: string; at: number } | null;
  lag: Map<string, { lagMs: number; at: number }>;
  throttle: Map<string, { message: string; since: number }>;
  /** Time of the newest event folded (ms). */
  lastEventAt: number | null;
}

export function createLiveState(): LiveState {
  return { verify: new Map(), copy: new Map(), weights: null, lag: new Map(), throttle: new Map(), lastEventAt: null };
}

const num = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);
const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const record = (value: unknown): Record<string, number> | null => {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const out: Record<string, number> = {};
  for (const [key, v] of Object.entries(value)) if (typeof v === 'number' && Number.isFinite(v)) out[key] = v;
  return out;
};

export function foldEvent(state: LiveState, event: LiveEvent): LiveState {
  const at = Date.parse(event.time);
  if (!Number.isFinite(at)) return state;
  state.lastEventAt = Math.max(state.lastEventAt ?? at, at);
  const d = event.data;
  switch (event.type) {
    case 'pg-verify-progress':
      verifyProgress(state, d, at);
      break;
    case 'pg-table-verified': {
      const table = str(d.table) ?? event.subject;
      for (const item of state.verify.values()) {
        if (item.table === table && !item.finished) {
          item.finished = true;
          item.updatedAt = at;
        }
      }
      break;
    }
    case 'verification-result': {
      const database = str(d.database);
      if (database === null || !Array.isArray(d.tables)) break;
      for (const t of d.tables as unknown[]) {
        const table = str((t as Record<string, unknown> | null)?.table);
        const item = table === null ? undefined : state.verify.get(`${database}/${table}`);
        if (item) {
          item.finished = true;
          item.updatedAt = at;
        }
      }
      break;
    }
    case 'pg-copy-progress':
      copyProgress(state, d, at);
      break;
    case 'traffic-weights': {
      const reads = record(d.reads);
      const writes = record(d.writes);
      if (reads && writes) state.weights = { reads, writes, reason: str(d.reason) ?? '', at };
      break;
    }
    case 'replication-lag': {
      const database = str(d.database) ?? event.subject;
      const lagMs = num(d.lagMs);
      if (lagMs !== null) state.lag.set(database, { lagMs, at });
      break;
    }
    case 'throttle-paused':
      state.throttle.set(str(d.work) ?? 'work', { message: str(d.message) ?? str(d.reason) ?? 'paused', since: at });
      break;
    case 'throttle-resumed':
      state.throttle.delete(str(d.work) ?? 'work');
      break;
    default:
      break;
  }
  return state;
}

function verifyProgress(state: LiveState, d: Record<string, unknown>, at: number): void {
  const table = str(d.table);
  const done = num(d.chunksDone);
  const total = num(d.chunksTotal);
  const rows = num(d.rowsDone) ?? 0;
  if (table === null || done === null || total === null) return;
  const database = str(d.database);
  const key = `${database ?? ''}/${table}`;
  let item = state.verify.get(key);
  // Fewer chunks done than before, or a table verified before: a new pass (a re-check, or the next pass).
  if (item && (done < item.done || item.finished)) {
    const pass = item.pass + 1;
    item = undefined;
    state.verify.set(key, newTable(database, table, 'chunks', at, pass));
  }
  item ??= state.verify.get(key) ?? newTable(database, table, 'chunks', at, 1);
  state.verify.set(key, item);
  item.done = done;
  item.total = total;
  item.rows = rows;
  item.samples = addSample(item.samples, { at, done });
  item.rowSamples = addSample(item.rowSamples, { at, done: rows });
  item.updatedAt = at;
}

function copyProgress(state: LiveState, d: Record<string, unknown>, at: number): void {
  const database = str(d.database);
  if (database === null || !Array.isArray(d.tables)) return;
  const previous = state.copy.get(database);
  const tables: TableProgress[] = [];
  let tablesDone = 0;
  for (const raw of d.tables as unknown[]) {
    if (typeof raw !== 'object' || raw === null) continue;
    const t = raw as Record<string, unknown>;
    const name = str(t.table);
    if (name === null) continue;
    const syncState = str(t.state) ?? '';
    const finished = syncState === 'r' || syncState === 's';
    if (finished) tablesDone++;
    const before = previous?.tables.find((item) => item.table === name);
    const item = before ?? newTable(database, name, 'rows', at, 1);
    const rows = num(t.rowsCopied);
    if (rows !== null) {
      item.done = rows;
      item.rows = rows;
      item.samples = addSample(item.samples, { at, done: rows });
      item.rowSamples = item.samples;
    }
    item.finished = finished;
    item.updatedAt = at;
    tables.push(item);
  }
  state.copy.set(database, {
    database,
    tablesDone,
    tablesTotal: tables.length,
    ready: d.ready === true,
    tables,
    updatedAt: at,
  });
}

function newTable(
  database: string | null,
  table: string,
  unit: 'chunks' | 'rows',
  at: number,
  pass: number,
): TableProgress {
  return {
    database,
    table,
    unit,
    done: 0,
    total: null,
    rows: 0,
    samples: [],
    rowSamples: [],
    finished: false,
    pass,
    updatedAt: at,
  };
}
