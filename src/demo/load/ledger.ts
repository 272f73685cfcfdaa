/**
 * The load generator's ledger, Jepsen style: every write it attempted, with its outcome
 * (ok: acknowledged; fail: definitely did not happen; info: unknown, e.g. a time-out), and every
 * read of a client's own write. `checkLedger` compares it with the final writer's database.
 */
import pg from 'pg';
import { bankTotal, INITIAL_BALANCE } from '../service/schema.js';

export interface OrderWrite {
  requestId: string;
  clientId: string;
  item: string;
  quantity: number;
  details: Record<string, unknown>;
  note: string | null;
  /** Set once acknowledged. */
  id?: string;
}

export interface TransferWrite {
  requestId: string;
  from: number;
  to: number;
  amount: number;
  id?: string;
}

/** A client event (POST /events): appended with no uniqueness guard, so a duplicate is visible. */
export interface EventWrite {
  requestId: string;
  clientId: string;
  kind: string;
}

export type Outcome = 'ok' | 'fail' | 'info';

export interface Ledger {
  /** The virtual clients' ids; only their rows are judged. */
  clients: string[];
  orders: Map<string, { write: OrderWrite; outcome: Outcome }>;
  transfers: Map<string, { write: TransferWrite; outcome: Outcome }>;
  events: Map<string, { write: EventWrite; outcome: Outcome }>;
  readYourWrites: { checked: number; violations: Array<{ clientId: string; orderId: string; reason: string }> };
}

export function createLedger(): Ledger {
  return {
    clients: [],
    orders: new Map(),
    transfers: new Map(),
    events: new Map(),
    readYourWrites: { checked: 0, violations: [] },
  };
}

export interface LedgerCheck {
  ok: boolean;
  acknowledged: number;
  lost: string[];
  duplicated: string[];
  unexpected: string[];
  changed: string[];
  /** Writes with an unknown outcome that turned out to have happened. */
  recovered: number;
  readYourWritesViolations: number;
  bank: { total: string; expected: string; negative: number; preserved: boolean };
}

/** Client ids of the load generator start with this, so its rows can be told from seeded ones. */
export const LOAD_CLIENT_PREFIX = 'load-';

/** JSON with object keys sorted: jsonb stores keys in its own order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function sameContent(row: Record<string, unknown>, write: OrderWrite): boolean {
  return (
    row.client_id === write.clientId &&
    row.item === write.item &&
    Number(row.quantity) === write.quantity &&
    canonical(row.details) === canonical(write.details) &&
    (row.note ?? null) === write.note
  );
}

/** A row of the transfers table as `checkLedger` reads it. */
export interface TransferRow {
  request_id: string;
  id: string;
  from_id: number;
  to_id: number;
  /** bigint, as text. */
  amount: string;
}

export interface TransferJudgement {
  acknowledged: number;
  recovered: number;
  lost: string[];
  duplicated: string[];
  unexpected: string[];
  /** Acknowledged transfers whose row differs from what was sent (accounts, amount, or the id acknowledged). */
  changed: string[];
}

function sameTransfer(row: TransferRow, write: TransferWrite): boolean {
  return (
    Number(row.from_id) === write.from &&
    Number(row.to_id) === write.to &&
    row.amount === String(write.amount) &&
    (write.id === undefined || row.id === write.id)
  );
}

/** Compares the transfers the ledger attempted with the rows found, by request id and by content. */
export function judgeTransfers(
  attempted: Ledger['transfers'],
  rows: readonly TransferRow[],
  options: CheckOptions = {},
): TransferJudgement {
  const byRequest = new Map<string, TransferRow[]>();
  for (const row of rows) byRequest.set(row.request_id, [...(byRequest.get(row.request_id) ?? []), row]);
  const out: TransferJudgement = {
    acknowledged: 0,
    recovered: 0,
    lost: [],
    duplicated: [],
    unexpected: [],
    changed: [],
  };
  for (const [requestId, { write, outcome }] of attempted) {
    const found = byRequest.get(requestId) ?? [];
    if (found.length > 1) out.duplicated.push(requestId);
    if (outcome === 'ok') {
      out.acknowledged++;
      if (found.length === 0) out.lost.push(requestId);
      else if (!found.every((row) => sameTransfer(row, write))) out.changed.push(requestId);
    } else if (outcome === 'fail' && found.length > 0) out.unexpected.push(requestId);
    else if (outcome === 'info' && found.length > 0) {
      out.recovered++;
      if (!found.every((row) => sameTransfer(row, write))) out.changed.push(requestId);
    }
  }
  if (options.onlyWriter) {
    for (const requestId of byRequest.keys()) if (!attempted.has(requestId)) out.unexpected.push(requestId);
  }
  return out;
}

export interface CheckOptions {
  /**
   * The ledger's generator was the only writer of transfers: a transfer nobody attempted is then
   * unexpected. (Orders are always judged by the ledger's own client ids.)
   */
  onlyWriter?: boolean;
}

/** Checks the ledger against the final writer's database. */
export async function checkLedger(
  ledger: Ledger,
  client: pg.ClientBase,
  accounts: number,
  options: CheckOptions = {},
): Promise<LedgerCheck> {
  const rows = await client.query(
    `select request_id::text, id::text, client_id, item, quantity, details, note
     from orders where client_id = any($1::text[])`,
    [ledger.clients],
  );
  const byRequest = new Map<string, Array<Record<string, unknown>>>();
  for (const row of rows.rows) {
    const list = byRequest.get(row.request_id) ?? [];
    list.push(row);
    byRequest.set(row.request_id, list);
  }
  const lost: string[] = [];
  const duplicated: string[] = [];
  const changed: string[] = [];
  const unexpected: string[] = [];
  let recovered = 0;
  let acknowledged = 0;
  for (const [requestId, { write, outcome }] of ledger.orders) {
    const found = byRequest.get(requestId) ?? [];
    if (found.length > 1) duplicated.push(requestId);
    if (outcome === 'ok') {
      acknowledged++;
      if (found.length === 0) lost.push(requestId);
      else if (!sameContent(found[0] as Record<string, unknown>, write) || (write.id && found[0]?.id !== write.id))
        changed.push(requestId);
    } else if (outcome === 'fail' && found.length > 0) unexpected.push(requestId);
    else if (outcome === 'info' && found.length > 0) recovered++;
  }
  for (const requestId of byRequest.keys()) if (!ledger.orders.has(requestId)) unexpected.push(requestId);

  const transferRows = await client.query<TransferRow>(
    `select request_id::text, id::text, from_id, to_id, amount::text from transfers`,
  );
  const transfers = judgeTransfers(ledger.transfers, transferRows.rows, options);
  acknowledged += transfers.acknowledged;
  recovered += transfers.recovered;
  lost.push(...transfers.lost);
  duplicated.push(...transfers.duplicated);
  unexpected.push(...transfers.unexpected);
  changed.push(...transfers.changed);

  // Client events: no unique request id in the table, so a write applied twice shows as two rows.
  const eventRows = await client.query<{ request_id: string }>(
    `select request_id::text from client_events where client_id = any($1::text[])`,
    [ledger.clients],
  );
  const eventCount = new Map<string, number>();
  for (const row of eventRows.rows) eventCount.set(row.request_id, (eventCount.get(row.request_id) ?? 0) + 1);
  for (const [requestId, { outcome }] of ledger.events) {
    const n = eventCount.get(requestId) ?? 0;
    if (n > 1) duplicated.push(requestId);
    if (outcome === 'ok') {
      acknowledged++;
      if (n === 0) lost.push(requestId);
    } else if (outcome === 'fail' && n > 0) unexpected.push(requestId);
    else if (outcome === 'info' && n > 0) recovered++;
  }
  for (const requestId of eventCount.keys()) if (!ledger.events.has(requestId)) unexpected.push(requestId);

  const bank = await bankTotal(client);
  const expected = BigInt(accounts) * BigInt(INITIAL_BALANCE);
  const preserved = bank.total === expected && bank.negative === 0 && bank.accounts === accounts;
  const readYourWritesViolations = ledger.readYourWrites.violations.length;
  return {
    ok:
      lost.length === 0 &&
      duplicated.length === 0 &&
      unexpected.length === 0 &&
      changed.length === 0 &&
      preserved &&
      readYourWritesViolations === 0,
    acknowledged,
    lost,
    duplicated,
    unexpected,
    changed,
    recovered,
    readYourWritesViolations,
    bank: { total: bank.total.toString(), expected: expected.toString(), negative: bank.negative, preserved },
  };
}
