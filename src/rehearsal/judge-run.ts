/**
 * The invariants of a finished rehearsal (issue 13), as the real-engine crash test judges them: the
 * clients' history against the final writer's rows (lost, unexpected, duplicated, stale, the bank,
 * read-your-writes), the two sites' data compared by chunked checksums (not after a rollback: the
 * target was given up, the source is the only copy), the audit trail verified,
 * no replication object or process left behind, and no write still refused by a fence on the writer
 * (listed in `leftBehind` as "write refused: <table>").
 */
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { readStateAuditHead } from '../audit/state-head.js';
import { verifyAuditTrail } from '../audit/verify.js';
import type { Redactor } from '../common/redact.js';
import { parseTableName } from '../data/postgres/connect.js';
import { verifyTables } from '../data/postgres/verify/index.js';
import { DEMO_APP_ROLE } from '../demo/demo-plan.js';
import { DEMO_TABLES, INITIAL_BALANCE } from '../demo/service/schema.js';
import { readFinal } from './check/final-reads.js';
import { checkHistory, type HistoryVerdict, type Invariants } from './check/invariants.js';
import { leftBehindOn, refusedWrites } from './check/left-behind.js';
import type { HistoryOp } from './history.js';
import { ACCOUNTS } from './sites.js';

export interface JudgeRunOptions {
  history: readonly HistoryOp[];
  clients: readonly string[];
  /** Superuser URLs of both sites (direct, not through the fault proxy). */
  urls: { source: string; target: string };
  /** The site that takes the writes at the end (the target after a succeeded run). */
  writer: 'source' | 'target';
  /**
   * Compare the two sites' data (default true). False after a run that was rolled back: the target
   * was given up (its service torn down, replication into it dropped) while the source went on
   * taking writes, so the sites differ by design; the writes are judged on the source alone.
   */
  compareSites?: boolean;
  stateDir: string;
  redactor: Redactor;
  maxReadLagMs: number;
}

export interface RunJudgement {
  invariants: Invariants;
  verdict: HistoryVerdict;
  /** Why the audit trail did not verify, when it did not. */
  auditReason: string | null;
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000, statement_timeout: 60_000 });
  client.on('error', () => undefined); // a connection lost mid-query is reported by the query that fails
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function judgeRun(options: JudgeRunOptions): Promise<RunJudgement> {
  const writerUrl = options.urls[options.writer];
  const final = await withClient(writerUrl, (client) => readFinal(client, options.clients));
  const verdict = checkHistory(options.history, final, {
    expectedTotal: BigInt(ACCOUNTS * INITIAL_BALANCE),
    maxReadLagMs: options.maxReadLagMs,
  });
  const identical =
    options.compareSites === false
      ? { identical: true }
      : await verifyTables({
          source: options.urls.source,
          target: options.urls.target,
          tables: DEMO_TABLES.map((t) => parseTableName(t)),
          chunkRows: 2000,
          redactor: options.redactor,
        });
  const head = readStateAuditHead(options.stateDir);
  const trailFile = path.join(options.stateDir, 'audit', 'trail.jsonl');
  const audit = fs.existsSync(trailFile)
    ? verifyAuditTrail(options.stateDir, head ? { expectedHead: head } : {})
    : { valid: false, reason: `no audit trail at ${trailFile}` };
  const leftBehind = [
    ...(await withClient(options.urls.source, (client) => leftBehindOn('source', client))),
    ...(await withClient(options.urls.target, (client) => leftBehindOn('target', client))),
    ...(await withClient(writerUrl, (client) => refusedWrites(client, DEMO_APP_ROLE, [...DEMO_TABLES]))).map(
      (table) => `write refused: ${table}`,
    ),
  ];
  return {
    invariants: {
      ...verdict.counts,
      dataIdentical: identical.identical,
      auditValid: audit.valid,
      leftBehind,
    },
    verdict,
    auditReason: audit.valid ? null : (audit.reason ?? 'invalid'),
  };
}
