// The engine's trail through the real CLI: a run signs with the key in HANDOFF_KEY_DIR (none in the
// state directory) and sends every checkpoint to HANDOFF_AUDIT_SINK; a sink that fails is recorded
// and warned about, and the run still succeeds.
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runCli } from '../support/cli.js';
import { listFiles } from '../support/tmp.js';
import { localPlan, type PlanDir } from '../engine/fixtures.js';
import { checkpointsPath, parseRecord, readLinesOf, trailPath } from './fixtures.js';

let hook: http.Server;
let hookUrl = '';
let status = 200;
const received: string[] = [];
beforeAll(async () => {
  hook = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      if (status === 200) received.push(z.object({ line: z.string() }).parse(JSON.parse(body)).line);
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/audit`;
});
const fixtures: PlanDir[] = [];
afterAll(async () => {
  for (const fx of fixtures) fx.cleanup();
  await new Promise<void>((resolve) => hook.close(() => resolve()));
});

function run(fx: PlanDir, extra: Record<string, string>) {
  return runCli(['run', '-f', fx.plan, '--state-dir', fx.stateDir], {
    env: {
      SOURCE_APP_DB: 'postgresql://app:source-pw-5678@127.0.0.1:5432/app',
      HANDOFF_STATE_DIR: '',
      HANDOFF_KEY_DIR: path.join(fx.dir, 'keys'),
      ...extra,
    },
    timeoutMs: 120_000,
  });
}

describe('a run with HANDOFF_AUDIT_SINK and HANDOFF_KEY_DIR', () => {
  it(
    'signs with the key directory and delivers every checkpoint to the webhook; a failing webhook does not fail the run',
    { timeout: 300_000 },
    async () => {
      const fx = localPlan({ name: 'audit-sink' });
      fixtures.push(fx);
      const first = await run(fx, { HANDOFF_AUDIT_SINK: hookUrl });
      expect(first.code, first.stderr).toBe(0);
      expect(received).toEqual(readLinesOf(checkpointsPath(fx.stateDir)));
      expect(received.length).toBeGreaterThanOrEqual(3); // trail opened, stage ends, run end
      expect(fs.existsSync(path.join(fx.dir, 'keys', 'signing-key.pem'))).toBe(true);
      expect(listFiles(fx.stateDir).filter((file) => file.endsWith('signing-key.pem'))).toEqual([]);
      const verify = await runCli([
        'audit',
        'verify',
        '--state-dir',
        fx.stateDir,
        '--public-key',
        path.join(fx.dir, 'keys', 'signing-key.pub.pem'),
      ]);
      expect(verify.code, verify.stdout).toBe(0);
      expect(verify.stdout).toMatch(/\(pinned\)/);

      status = 503;
      const second = await run(fx, { HANDOFF_AUDIT_SINK: hookUrl });
      expect(second.code, second.stderr).toBe(0);
      expect(second.stderr).toMatch(
        /could not be sent to http:\/\/127\.0\.0\.1:\d+\/audit: the webhook answered HTTP 503/,
      );
      const failed = readLinesOf(trailPath(fx.stateDir))
        .map(parseRecord)
        .filter((record) => record.action === 'audit.sink-failed');
      expect(failed.length).toBeGreaterThan(0);
    },
  );
});
