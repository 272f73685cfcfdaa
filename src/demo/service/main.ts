/**
 * The demo service as a process, as the `local` platform runs it. Configuration from the
 * environment (the plan's `env`, templated per site):
 *   DATABASE_URL          the application's connection (required unless DATABASE_URL_FILE is set)
 *   DATABASE_URL_FILE     a file holding it instead (a mounted secret): followed while the service
 *                         runs; when it changes, new connections use the new credentials and the
 *                         old ones drain (credentials rotation without a gap)
 *   MIGRATE_DATABASE_URL  the schema owner's connection; when set, the migration runs at start
 *   APP_ROLE              the role to grant the application's privileges to (with MIGRATE_DATABASE_URL)
 *   PORT, HOST, SITE      where to listen and what to call this site
 *   INJECT_ERROR_RATE     share of API requests answered 500 (demo of automatic rollback)
 *   INJECT_ERRORS         SITE:RATE, the same but only when this process's SITE is SITE (the demo
 *                         gives one environment to both sites and breaks only the target)
 *   INJECT_APPLY_TWICE    test-only: "1" applies every POST /events twice (the rehearsal's broken
 *                         variant, which its checker must report as duplicated)
 */
import pg from 'pg';
import { migrate } from './schema.js';
import { startDemoService } from './server.js';

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    process.stderr.write(`demo-service: ${name} is not set\n`);
    process.exit(2);
  }
  return value;
}

const migrateUrl = process.env.MIGRATE_DATABASE_URL;
if (migrateUrl) {
  const client = new pg.Client({ connectionString: migrateUrl, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined); // a connection lost mid-query is reported by the query that fails
  await client.connect();
  try {
    await migrate(client, process.env.APP_ROLE);
  } finally {
    await client.end();
  }
}

/** INJECT_ERRORS=target:0.2 applies 0.2 on the target only; INJECT_ERROR_RATE applies everywhere. */
function errorRate(site: string): number {
  const scoped = process.env.INJECT_ERRORS;
  if (scoped) {
    const match = /^([a-z0-9-]+):(\d+(?:\.\d+)?)$/.exec(scoped);
    if (!match) {
      process.stderr.write(`demo-service: INJECT_ERRORS must look like target:0.2, not ${scoped}\n`);
      process.exit(2);
    }
    if (match[1] === site) return Number(match[2]);
  }
  return Number(process.env.INJECT_ERROR_RATE ?? 0);
}

/** INJECT_DIFFS=target:0.05: this share of GET answers has one field altered, on that site only. */
function diffRate(site: string): number {
  const match = /^([a-z0-9-]+):(\d+(?:\.\d+)?)$/.exec(process.env.INJECT_DIFFS ?? '');
  return match !== null && match[1] === site ? Number(match[2]) : 0;
}

const site = process.env.SITE ?? 'unknown';
const credentialsFile = process.env.DATABASE_URL_FILE;
const service = await startDemoService({
  ...(credentialsFile ? { credentialsFile } : { databaseUrl: required('DATABASE_URL') }),
  log: (line) => process.stderr.write(`demo-service: ${line}\n`),
  port: Number(process.env.PORT ?? 8080),
  host: process.env.HOST ?? '127.0.0.1',
  site,
  errorRate: errorRate(site),
  diffRate: diffRate(site),
  applyTwice: process.env.INJECT_APPLY_TWICE === '1',
});
process.stderr.write(
  `demo-service: site ${process.env.SITE ?? 'unknown'} listening on ${service.port}, connecting as ${service.role}\n`,
);

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    void service.close().then(() => process.exit(0));
  });
}
