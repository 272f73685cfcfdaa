/**
 * The DDL fault: a schema change on one site's database while the migration runs, as a developer
 * shipping a migration mid-move would make. It runs the fault's `sql` as given, or by default adds a
 * nullable text column `rehearsal_<n>` to the first of the plan's tables (n: one more than the
 * highest such column there). Logical replication does not carry DDL, so the change is what handoff
 * must notice (schema drift) and cope with.
 *
 * Clear does nothing: a schema change is not undone by itself in a real incident either. `detail`
 * says exactly what was changed, so the report shows it (and whoever cleans up knows what to drop).
 * The statement is bounded: it waits at most `lockTimeoutMs` for its lock (a DDL stuck behind a
 * long transaction would otherwise queue every query on the table behind it), then fails retryable.
 */
import { AdapterError, InputError } from '../../common/errors.js';
import { quoteIdentifier } from '../../data/postgres/identifiers.js';
import { firstTable, openFaultSession } from './pg-session.js';
import type { ActiveFault, FaultInjector } from './types.js';

export const DDL_APPLICATION = 'rehearsal-ddl';

export interface DdlInjectorOptions {
  /** How long the statement may wait for its lock (default 10 s). */
  lockTimeoutMs?: number;
}

const SHOWN_SQL_CHARS = 200;

function shown(sql: string): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length > SHOWN_SQL_CHARS ? `${flat.slice(0, SHOWN_SQL_CHARS)}...` : flat;
}

export function createDdlInjector(options: DdlInjectorOptions = {}): FaultInjector<'ddl'> {
  const lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
  return {
    kind: 'ddl',
    async inject(fault, env, signal) {
      signal?.throwIfAborted();
      const first = fault.sql === undefined ? firstTable(env.tables) : null;
      if (fault.sql === undefined && !first) {
        throw new InputError(
          `ddl fault "${fault.name}": the plan names no plain table to add a column to (tables: ${env.tables.join(', ') || 'none'}); give the fault's sql`,
        );
      }
      const session = await openFaultSession(env.databaseUrl[fault.site], fault.site, DDL_APPLICATION);
      const { client } = session;
      try {
        await client.query(`SET lock_timeout = ${Math.max(1, Math.round(lockTimeoutMs))}`);
        signal?.throwIfAborted();
        let did: string;
        if (fault.sql !== undefined) {
          const result = (await client.query(fault.sql)) as unknown;
          const results = (Array.isArray(result) ? result : [result]) as { command?: string | null }[];
          const tags = results.map((r) => r.command ?? '?').join(', ');
          did = `ran the fault's SQL on the ${fault.site} database (${tags}): ${shown(fault.sql)}`;
        } else {
          const target = first as NonNullable<typeof first>;
          const highest = await client.query<{ n: number | null }>(
            `SELECT max(substring(attname FROM '^rehearsal_(\\d+)$')::int) AS n
               FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 AND NOT attisdropped`,
            [target.sql],
          );
          const column = `rehearsal_${(highest.rows[0]?.n ?? 0) + 1}`;
          await client.query(`ALTER TABLE ${target.sql} ADD COLUMN ${quoteIdentifier(column)} text`);
          did = `added the nullable column ${column} (text) to ${target.sql} on the ${fault.site} database`;
        }
        env.logger.info('ddl fault: applied', { fault: fault.name, site: fault.site });
        return {
          detail: `${did}; it stays after clear`,
          clear: () => Promise.resolve(),
        } satisfies ActiveFault;
      } catch (error) {
        if (error instanceof Error && error.name === 'AbortError') throw error;
        const code = (error as { code?: string }).code;
        const why =
          code === '55P03'
            ? `it waited ${lockTimeoutMs} ms for its lock (something holds the table)`
            : error instanceof Error
              ? error.message
              : String(error);
        throw new AdapterError(`ddl fault "${fault.name}" failed on the ${fault.site} database: ${why}`, {
          cause: error,
          retryable: true,
        });
      } finally {
        await session.close();
      }
    },
  };
}

export const ddlInjector = createDdlInjector();
