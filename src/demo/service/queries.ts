/**
 * Every SQL statement the demo service runs, by name. The service sends them as named prepared
 * statements (parsed and planned once per connection), and the EXPLAIN test
 * (`test/demo/service-queries.test.ts`) plans exactly these texts against a million-row table, so a
 * query that would scan a large table cannot slip in unnoticed. `sample` gives parameters of the
 * right types for that test. A new connection plans the writes before it serves; a connection that
 * credentials swap to also runs the reads first (server.ts).
 */

/** The order columns the API returns; `id` as text (bigint does not fit a JSON number). */
const orderColumns = `o.id::text as id, o.request_id, o.client_id, o.item, o.quantity, o.details, o.note, o.created_at`;

export interface DemoQuery {
  /** The prepared statement's name (unique per connection). */
  name: string;
  text: string;
  /** Parameters of the right types, for planning the statement in tests. */
  sample: unknown[];
}

const q = (name: string, text: string, sample: unknown[]): DemoQuery => ({ name, text, sample });

export const DEMO_QUERIES = {
  health: q('demo_health', 'select 1', []),
  // A transfer is one statement (one round trip; the accounts stay locked only while it runs and
  // commits, where a transaction of four round trips kept them locked while the service, short of
  // CPU in a burst, sent its next statement): lock both accounts in id order (so concurrent
  // transfers cannot deadlock) and learn whether this request id was already done; then debit the
  // payer only where its balance covers the amount, credit the payee only if the debit happened,
  // and record the transfer only if both did. The funds are judged by the debit's own WHERE, which
  // PostgreSQL evaluates again on the row's latest version when a concurrent transfer changed it
  // (READ COMMITTED's re-check). Judged instead on the values the locking CTE returned, with the
  // update as a CTE of its own, transfers among five accounts near zero from 20 sessions took an
  // account below zero in 2,237 of 27,672 (the balance's CHECK refused them: the service answered
  // 500; at 10 M orders the demo's long runs drove its 50 accounts that low and failed 3-7 requests).
  transfer: q(
    'demo_transfer',
    `with locked as materialized (
       select a.id from accounts a where a.id = any(array[$1::int, $2::int]) order by a.id for update
     ), verdict as materialized (
       select count(*) = 2 as found,
              (select t.id::text from transfers t where t.request_id = $4::uuid) as existing
         from locked l
     ), debited as (
       update accounts set balance = balance - $3::bigint, updated_at = now()
        where id = $1::int and balance >= $3::bigint and (select found and existing is null from verdict)
       returning id
     ), credited as (
       update accounts set balance = balance + $3::bigint, updated_at = now()
        where id = $2::int and exists (select 1 from debited)
       returning id
     ), made as (
       insert into transfers (request_id, from_id, to_id, amount)
       select $4::uuid, $1::int, $2::int, $3::bigint where exists (select 1 from credited)
       returning id::text as id
     )
     select v.found, exists (select 1 from debited) as funds, v.existing, (select m.id from made m) as id
       from verdict v`,
    [1, 2, 1, '00000000-0000-4000-8000-000000000002'],
  ),
  // An order and its first event in one statement (one round trip, one commit).
  insertOrder: q(
    'demo_insert_order',
    `with made as (
       insert into orders (request_id, client_id, item, quantity, details, note)
       values ($1, $2, $3, $4, $5, $6)
       on conflict (request_id) do nothing
       returning id, request_id, client_id, item, quantity, details, note, created_at
     ), event as (
       insert into order_events (order_id, seq, kind) select id, 1, 'created' from made
     )
     select ${orderColumns} from made o`,
    ['00000000-0000-4000-8000-000000000003', 'client-1', 'widget', 1, '{}', null],
  ),
  orderByRequest: q('demo_order_by_request', `select ${orderColumns} from orders o where o.request_id = $1`, [
    '00000000-0000-4000-8000-000000000004',
  ]),
  bankTotal: q(
    'demo_bank_total',
    'select sum(balance)::text as total, count(*)::int as accounts, count(*) filter (where balance < 0)::int as negative from accounts',
    [],
  ),
  account: q('demo_account', 'select id, owner, balance::text as balance, updated_at from accounts where id = $1', [1]),
  // Ordered by the bigint id itself (o.id), not by the text output column also called id; served
  // by the index on (client_id, id), read backwards.
  clientOrders: q(
    'demo_client_orders',
    `select ${orderColumns} from orders o where o.client_id = $1 order by o.id desc limit $2`,
    ['seed-7', 5],
  ),
  recentOrders: q('demo_recent_orders', `select ${orderColumns} from orders o order by o.id desc limit $1`, [20]),
  order: q('demo_order', `select ${orderColumns} from orders o where o.id = $1`, ['1']),
  insertEvent: q(
    'demo_insert_event',
    `insert into order_events (order_id, seq, kind)
     select $1, coalesce(max(seq), 0) + 1, $2 from order_events where order_id = $1
     returning order_id::text as order_id, seq, kind`,
    ['1', 'shipped'],
  ),
  // Appends, with no uniqueness guard: a request applied twice makes two rows (see schema.ts).
  insertClientEvent: q(
    'demo_insert_client_event',
    `insert into client_events (request_id, client_id, kind) values ($1, $2, $3) returning id::text as id`,
    ['00000000-0000-4000-8000-000000000005', 'client-1', 'viewed'],
  ),
} as const satisfies Record<string, DemoQuery>;

export type DemoQueryName = keyof typeof DEMO_QUERIES;

/** The statements that only read (the EXPLAIN test checks they are exactly those a read-only transaction runs). */
export const READ_QUERIES: readonly DemoQuery[] = [
  DEMO_QUERIES.health,
  DEMO_QUERIES.orderByRequest,
  DEMO_QUERIES.bankTotal,
  DEMO_QUERIES.account,
  DEMO_QUERIES.clientOrders,
  DEMO_QUERIES.recentOrders,
  DEMO_QUERIES.order,
];
