import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRedactor } from '../src/common/redact.js';
import { openAuditTrail } from '../src/audit/trail.js';
import { verifyAuditTrail } from '../src/audit/verify.js';
import type { Benchmark } from './harness.js';

/**
 * The audit trail is written on every event and verified by auditors. Appends are measured against
 * the bare durable append they are built on (open, write, fsync, close of the same bytes); the
 * verifier against reading the same file, parsing each line and hashing it once.
 */
export const auditBenchmark: Benchmark = {
  name: 'audit',
  async run() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-bench-audit-'));
    try {
      const appends = 2_000;
      const verifyRecords = 20_000;
      const details = { stage: 'replicate', table: 'public.orders', rows: 123456, lagMs: 12.5, keys: ['a', 'b', 'c'] };
      const redactor = createRedactor(Array.from({ length: 10 }, (_, i) => `secret-value-${i}`));

      const raw = path.join(dir, 'raw.jsonl');
      const line = `${JSON.stringify({ seq: 1, actor: 'engine', action: 'step-done', subject: 'copy', details, prevHash: '0'.repeat(64), hash: '0'.repeat(64) })}\n`;
      let start = performance.now();
      for (let i = 0; i < appends; i++) {
        const fd = fs.openSync(raw, 'a');
        fs.writeSync(fd, line);
        fs.fsyncSync(fd);
        fs.closeSync(fd);
      }
      const rawMs = performance.now() - start;

      const trail = openAuditTrail({ stateDir: path.join(dir, 'state'), redactor });
      start = performance.now();
      for (let i = 0; i < appends; i++)
        trail.append({ actor: 'engine', action: 'step-done', subject: 'copy', details: { ...details, i } });
      const appendMs = performance.now() - start;
      for (let i = appends; i < verifyRecords; i++)
        trail.append({ actor: 'engine', action: 'step-done', subject: 'copy', details: { ...details, i } });
      trail.checkpoint('bench');
      trail.close();

      const file = path.join(dir, 'state', 'audit', 'trail.jsonl');
      start = performance.now();
      let check = 0;
      for (const text of fs.readFileSync(file, 'utf8').split('\n')) {
        if (text === '') continue;
        const parsed = JSON.parse(text) as { seq: number };
        check += parsed.seq + createHash('sha256').update(text).digest()[0]!;
      }
      const baselineVerifyMs = performance.now() - start;
      if (check === 0) throw new Error('unreachable');
      start = performance.now();
      const verdict = verifyAuditTrail(path.join(dir, 'state'));
      const verifyMs = performance.now() - start;
      if (!verdict.valid || verdict.records !== verifyRecords)
        throw new Error(`bench trail did not verify: ${verdict.reason}`);

      const appendUs = (appendMs * 1000) / appends;
      const verifyPerSecond = verifyRecords / (verifyMs / 1000);
      return {
        benchmark: 'audit',
        baseline:
          'bare durable append (open, write, fsync, close) of the same line; read + parse + one SHA-256 per line',
        measurements: [
          { name: 'raw durable append', value: (rawMs * 1000) / appends, unit: 'µs per line' },
          { name: 'audit append', value: appendUs, unit: 'µs per record (lock, tail read, redact, hash, fsync)' },
          { name: 'baseline read+parse+hash', value: baselineVerifyMs, unit: `ms per ${verifyRecords} records` },
          { name: 'audit verify', value: verifyMs, unit: `ms per ${verifyRecords} records` },
          { name: 'audit verify rate', value: verifyPerSecond, unit: 'records/s' },
        ],
        ratios: {
          'append/raw durable append time': appendMs / Math.max(rawMs, 0.001),
          'verify/read+parse+hash time': verifyMs / Math.max(baselineVerifyMs, 0.001),
        },
        targets: [
          { name: 'append cost', target: 'under 3x a bare durable append', met: appendMs < 3 * rawMs },
          {
            name: 'verify cost',
            target: 'under 4x reading, parsing and hashing each line once (schema, hash, canonical form, links)',
            met: verifyMs < 4 * baselineVerifyMs,
          },
        ],
      };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
