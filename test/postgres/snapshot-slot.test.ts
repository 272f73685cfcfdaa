// The chunked copy's slot against a real PostgreSQL 18: creating a slot with an exported snapshot
// waits for every transaction that writes on the source to end, so a session left idle in a
// transaction would hold the copy's first step for as long as it stays. The wait is bounded, ends
// with the run's abort, names what it waited for, and leaves no slot and no waiting process behind.
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRedactor } from '../../src/common/redact.js';
import { sleep } from '../../src/common/net.js';
import { createSnapshotSlot, openWriteTransactions } from '../../src/data/postgres/copy/snapshot-slot.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';

let server: TestPostgres;
let admin: pg.Client;
const open: pg.Client[] = [];
let nextId = 1;

beforeAll(async () => {
  server = await startTestPostgres({ settings: { max_prepared_transactions: 4 } });
  await server.createDatabase('shop');
  admin = new pg.Client({ connectionString: server.url('shop') });
  await admin.connect();
  await admin.query('create table orders (id bigint primary key)');
});
afterEach(async () => {
  for (const client of open.splice(0)) await client.end().catch(() => undefined);
});
afterAll(async () => {
  await admin?.end().catch(() => undefined);
  await server?.close();
});

/** A session whose transaction holds a transaction id and stays open (idle in transaction). */
async function writerLeftOpen(): Promise<{ client: pg.Client; pid: number }> {
  const client = new pg.Client({ connectionString: server.url('shop'), application_name: 'forgotten-psql' });
  await client.connect();
  open.push(client);
  await client.query('begin');
  await client.query('insert into orders values ($1)', [nextId++]);
  const pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
  return { client, pid };
}

function slotOptions(slot: string, extra: Partial<Parameters<typeof createSnapshotSlot>[0]> = {}) {
  return {
    url: server.url('shop'),
    slot,
    major: 18,
    failover: false,
    redactor: createRedactor(),
    waitingFor: () => openWriteTransactions(admin),
    terminate: (pid: number) => admin.query('select pg_terminate_backend($1)', [pid]),
    ...extra,
  };
}

/** Waits (bounded) until neither the slot nor a process creating it is left on the server. */
async function nothingLeft(slot: string): Promise<{ slots: number; waiting: number }> {
  let left = { slots: -1, waiting: -1 };
  for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(100)) {
    const r = await admin.query<{ slots: number; waiting: number }>(
      `select (select count(*) from pg_replication_slots where slot_name = $1)::int as slots,
              (select count(*) from pg_stat_activity where application_name = 'handoff-copy-snapshot')::int as waiting`,
      [slot],
    );
    left = r.rows[0]!;
    if (left.slots === 0 && left.waiting === 0) break;
  }
  return left;
}

describe('the snapshot slot', () => {
  it('gives up at its bound while a transaction stays open, names it, and leaves nothing behind', async () => {
    const writer = await writerLeftOpen();
    const started = Date.now();
    const error = await createSnapshotSlot(slotOptions('copy_slot_a', { timeoutMs: 800 })).then(
      (slot) => slot.close().then(() => null),
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(Error);
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(error!.message).toMatch(/did not finish within 800 ms: it waits for every transaction that writes/);
    expect(error!.message).toContain(`pid ${writer.pid}`);
    expect(error!.message).toMatch(/application forgotten-psql\) idle in transaction, its transaction open \d+ s/);
    expect(await nothingLeft('copy_slot_a')).toEqual({ slots: 0, waiting: 0 });

    // Once the writer is done, the same slot is made.
    await writer.client.query('commit');
    const slot = await createSnapshotSlot(slotOptions('copy_slot_a', { timeoutMs: 10_000 }));
    expect(slot.snapshot).toMatch(/\S/);
    await slot.close();
    await admin.query(`select pg_drop_replication_slot('copy_slot_a')`);
  });

  it('ends the wait when the run is aborted, before the bound', async () => {
    await writerLeftOpen();
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 300).unref();
    const started = Date.now();
    const error = await createSnapshotSlot(
      slotOptions('copy_slot_b', { timeoutMs: 60_000, signal: controller.signal }),
    ).then(
      (slot) => slot.close().then(() => null),
      (e: unknown) => e as Error,
    );
    expect(error!.message).toMatch(/copy_slot_b on the source was stopped: the run was aborted/);
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(await nothingLeft('copy_slot_b')).toEqual({ slots: 0, waiting: 0 });
  });

  it('lists prepared transactions too, oldest first', async () => {
    await admin.query('begin');
    await admin.query('insert into orders values ($1)', [nextId++]);
    await admin.query(`prepare transaction 'handoff-test-gid'`);
    try {
      const writer = await writerLeftOpen();
      const text = await openWriteTransactions(admin);
      expect(text).toMatch(/^prepared transaction 'handoff-test-gid' \(\w+\), prepared \d+ s ago; pid \d+/);
      expect(text).toContain(`pid ${writer.pid}`);
    } finally {
      await admin.query(`rollback prepared 'handoff-test-gid'`);
    }
  });
});
