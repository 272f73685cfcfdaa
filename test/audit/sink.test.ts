// Checkpoints sent to an external sink as they are written: an append-only table on a PostgreSQL
// server that is not one of the migrated ones (embedded), or a webhook (a real local HTTP server).
// `handoff audit verify --against` compares the trail with the sink and fails on a cut trail.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createRedactor } from '../../src/common/redact.js';
import { createCheckpointSink, readSinkCheckpoints, SINK_TABLE } from '../../src/audit/sink.js';
import { openAuditTrail, type AuditTrail } from '../../src/audit/trail.js';
import { runCli } from '../support/cli.js';
import { startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { makeTempDir } from '../support/tmp.js';
import { checkpointsPath, parseRecord, readLinesOf, trailPath, writeLinesOf } from './fixtures.js';

const verdictSchema = z.object({
  valid: z.boolean(),
  reason: z.string().nullable(),
  externalCheckpoints: z.number().nullable(),
});

let server: TestPostgres;
beforeAll(async () => {
  server = await startTestPostgres();
  await server.createDatabase('audit_sink');
});
afterAll(async () => {
  await server?.close();
});

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function workspace(): { stateDir: string; keyDir: string } {
  const temp = makeTempDir('handoff-audit-sink-');
  cleanups.push(temp.cleanup);
  return { stateDir: path.join(temp.dir, 'state'), keyDir: path.join(temp.dir, 'keys') };
}

async function writeTrail(trail: AuditTrail, count: number, every: number): Promise<void> {
  for (let n = 1; n <= count; n++) {
    trail.append({ actor: 'engine', action: 'stage-done', subject: `stage-${n}`, details: { n }, runId: 'run-1' });
    if (n % every === 0) trail.checkpoint(`after ${n}`);
  }
  await trail.flush();
  trail.close();
}

async function verifyAgainst(stateDir: string, keyDir: string, sink: string) {
  const result = await runCli(
    [
      'audit',
      'verify',
      '--state-dir',
      stateDir,
      '--public-key',
      path.join(keyDir, 'signing-key.pub.pem'),
      '--against',
      sink,
      '-o',
      'json',
    ],
    { timeoutMs: 60_000 },
  );
  return { ...result, verdict: result.code === 2 ? null : verdictSchema.parse(JSON.parse(result.stdout)) };
}

describe('checkpoints kept in an append-only PostgreSQL table', () => {
  it('holds every checkpoint; a trail cut with its later checkpoints deleted fails against it, not without it', async () => {
    const { stateDir, keyDir } = workspace();
    const url = server.url('audit_sink');
    const trail = openAuditTrail({
      stateDir,
      keyDir,
      redactor: createRedactor(),
      sink: createCheckpointSink(url, 'test'),
    });
    await writeTrail(trail, 9, 3);
    const local = readLinesOf(checkpointsPath(stateDir));
    expect(local).toHaveLength(4); // opened, after 3, 6, 9
    expect(await readSinkCheckpoints(url, trail.id)).toEqual(local);

    const intact = await verifyAgainst(stateDir, keyDir, url);
    expect(intact.code, intact.stdout + intact.stderr).toBe(0);
    expect(intact.verdict).toMatchObject({ valid: true, externalCheckpoints: 4 });

    // Cut the trail after record 4 and delete the checkpoints that covered the rest.
    writeLinesOf(trailPath(stateDir), readLinesOf(trailPath(stateDir)).slice(0, 4));
    writeLinesOf(checkpointsPath(stateDir), local.slice(0, 2));
    const alone = await runCli([
      'audit',
      'verify',
      '--state-dir',
      stateDir,
      '--public-key',
      path.join(keyDir, 'signing-key.pub.pem'),
      '-o',
      'json',
    ]);
    expect(alone.code).toBe(0);
    const against = await verifyAgainst(stateDir, keyDir, url);
    expect(against.code).toBe(1);
    expect(against.verdict?.valid).toBe(false);
    expect(against.verdict?.reason).toMatch(
      /held by postgresql:\/\/.*: signed at .* over 6 records, but the trail ends at record 4: records 5\.\.6 were removed \(truncated\)/,
    );
    expect(against.stdout + against.stderr).not.toContain(new URL(url).password);
  });

  it('fails a trail replaced wholesale (no checkpoint of it in the sink) and refuses to update or delete rows', async () => {
    const { stateDir, keyDir } = workspace();
    const url = server.url('audit_sink');
    await writeTrail(
      openAuditTrail({ stateDir, keyDir, redactor: createRedactor(), sink: createCheckpointSink(url, 'test') }),
      3,
      3,
    );
    // Rewritten with the same key but a new trail id, never sent to the sink.
    fs.writeFileSync(path.join(stateDir, 'audit', 'trail-id'), 'not-the-real-id\n');
    const replaced = await verifyAgainst(stateDir, keyDir, url);
    expect(replaced.code).toBe(1);
    expect(replaced.verdict?.reason).toMatch(/holds no checkpoint of trail not-the-real-id/);
    await expect(server.query(`DELETE FROM ${SINK_TABLE}`, [], 'audit_sink')).rejects.toThrow(/append-only/);
    await expect(server.query(`UPDATE ${SINK_TABLE} SET line = 'x'`, [], 'audit_sink')).rejects.toThrow(/append-only/);
  });

  it('records a sink that cannot be reached in the trail and goes on (bounded, not fatal)', async () => {
    const { stateDir, keyDir } = workspace();
    const errors: string[] = [];
    const dead = 'postgresql://nobody:hunter2-secret@127.0.0.1:1/none';
    const trail = openAuditTrail({
      stateDir,
      keyDir,
      redactor: createRedactor(),
      sink: createCheckpointSink(dead, 'test', { timeoutMs: 2_000 }),
      onSinkError: (message) => errors.push(message),
    });
    const started = Date.now();
    await writeTrail(trail, 3, 3);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(errors).toHaveLength(2);
    const actions = readLinesOf(trailPath(stateDir)).map((line) => parseRecord(line).action);
    expect(actions.filter((action) => action === 'audit.sink-failed')).toHaveLength(2);
    const text = fs.readFileSync(trailPath(stateDir), 'utf8') + errors.join('\n');
    expect(text).not.toContain('hunter2-secret');
  });
});

describe('checkpoints sent to a webhook', () => {
  it('POSTs each checkpoint with the trail id, and a failing webhook is recorded, not fatal', async () => {
    const received: Array<{ trail: string; line: string }> = [];
    let status = 200;
    const hook = http.createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        received.push(z.object({ trail: z.string(), line: z.string() }).parse(JSON.parse(body)));
        response.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/checkpoints`;
      const { stateDir, keyDir } = workspace();
      const trail = openAuditTrail({
        stateDir,
        keyDir,
        redactor: createRedactor(),
        sink: createCheckpointSink(url, 'test'),
      });
      await writeTrail(trail, 4, 2);
      expect(received.map((r) => r.line)).toEqual(readLinesOf(checkpointsPath(stateDir)));
      expect(new Set(received.map((r) => r.trail))).toEqual(new Set([trail.id]));

      status = 503;
      const again = openAuditTrail({
        stateDir,
        keyDir,
        redactor: createRedactor(),
        sink: createCheckpointSink(url, 'test'),
      });
      again.checkpoint('stage x done');
      await again.flush();
      again.close();
      const last = parseRecord(readLinesOf(trailPath(stateDir)).at(-1)!);
      expect(last).toMatchObject({ action: 'audit.sink-failed', details: { checkpointSeq: 4 } });
      expect(String(last.details.error)).toMatch(/HTTP 503/);
    } finally {
      await new Promise<void>((resolve) => hook.close(() => resolve()));
    }
  });
});
