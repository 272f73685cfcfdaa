import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeRecord } from '../src/audit/format.js';
import { readLines } from '../src/audit/lines.js';
import { readRunGates } from '../src/engine/gate-status.js';
import { recordedCheckSchema } from '../src/analysis/check-result.js';
import { gateDecidedSchema } from '../src/report/read-schemas.js';
import { readRunTrail } from '../src/report/trail-reader.js';
import type { Benchmark } from './harness.js';

/**
 * `handoff status RUN` and `handoff explain RUN` read the run's gates from the audit trail, which
 * grows by one `check-measured` record per check per interval (an 8-hour shift with three checks
 * at 1 s is about 86 K records). Measured on a trail of two interleaved runs, against reading the
 * same file line by line and parsing every line (the least any JSON-lines reader does), and against
 * the report's trail reader (every record of the run validated, then picked by action).
 */
export const statusBenchmark: Benchmark = {
  name: 'status',
  async run() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-bench-status-'));
    try {
      const records = 100_000;
      fs.mkdirSync(path.join(dir, 'audit'));
      const file = path.join(dir, 'audit', 'trail.jsonl');
      const fd = fs.openSync(file, 'w');
      const hash = 'a'.repeat(64);
      let lines: string[] = [];
      for (let seq = 1; seq <= records; seq++) {
        const runId = seq % 4 === 0 ? 'other-run' : 'bench-run';
        const gate = `shift-${[1, 5, 25, 50, 100][Math.min(4, Math.floor(seq / (records / 5)))]}`;
        let action = 'check-measured';
        let details: Record<string, unknown> = {
          gate,
          check: ['errors', 'p99', 'share'][seq % 3],
          metric: 'router.error_rate',
          outcome: 'Pass',
          value: 0.0101,
          sourceValue: 0.0099,
          ratio: 1.02,
          samples: 1200,
          sourceSamples: 5000,
          threshold: { max: 0.05, warn: 1.1, fail: 2, minSamples: 200 },
          reason: "target error_rate 0.0101 is 1.02× the source's 0.0099, below warn 1.1",
          verdict: 'ready',
          countedAs: 'pass',
          windowMs: 2000,
          dryRun: false,
        };
        if (seq % 2000 === 1) {
          action = 'gate-decided';
          details = {
            gate,
            outcome: 'hold',
            reason: 'bake: 10 s of 30 s',
            reasons: ['bake: 10 s of 30 s'],
            checks: [],
          };
        } else if (seq % 997 === 0) {
          action = 'step-done';
          details = { stage: 'shift', step: 'reads-5', key: `${runId}/shift/reads-5`, result: { ok: true } };
        }
        lines.push(
          encodeRecord({
            seq,
            time: new Date(1_700_000_000_000 + seq * 333).toISOString(),
            runId,
            actor: 'analysis',
            action,
            subject: gate,
            details,
            prevHash: hash,
            hash,
          }).line,
        );
        if (lines.length >= 5000) {
          fs.writeSync(fd, `${lines.join('\n')}\n`);
          lines = [];
        }
      }
      if (lines.length > 0) fs.writeSync(fd, `${lines.join('\n')}\n`);
      fs.closeSync(fd);
      const megabytes = fs.statSync(file).size / 1e6;

      const time = (fn: () => unknown): number => {
        const start = performance.now();
        fn();
        return performance.now() - start;
      };
      const best = (fn: () => unknown): number => Math.min(time(fn), time(fn), time(fn));

      const bareMs = best(() => {
        let n = 0;
        for (const line of readLines(file))
          if (line.terminated) n += (JSON.parse(line.text) as { seq: number }).seq > 0 ? 1 : 0;
        return n;
      });
      const reportMs = best(() => {
        const trail = readRunTrail(dir, 'bench-run');
        return (
          trail.pick('gate-decided', gateDecidedSchema).length +
          trail.pick('check-measured', recordedCheckSchema).length
        );
      });
      let total = 0;
      const statusMs = best(() => {
        total = readRunGates({ stateDir: dir, runId: 'bench-run', stage: 'shift' }).total;
      });
      return {
        benchmark: 'status',
        baseline:
          'reading the trail line by line and JSON.parse of every line; and the report trail reader (validate every record of the run, pick by action)',
        measurements: [
          { name: 'trail records', value: records, unit: 'records' },
          { name: 'trail size', value: Math.round(megabytes * 10) / 10, unit: 'MB' },
          { name: 'status gates read', value: Math.round(statusMs), unit: 'ms' },
          { name: 'status per record', value: Math.round((statusMs * 1000 * 100) / records) / 100, unit: 'µs/record' },
          { name: 'bare line parse', value: Math.round(bareMs), unit: 'ms' },
          { name: 'report trail reader', value: Math.round(reportMs), unit: 'ms' },
          { name: 'gate decisions found', value: total, unit: 'decisions' },
        ],
        ratios: { 'status / bare parse': statusMs / bareMs, 'status / report reader': statusMs / reportMs },
        targets: [],
        notes: ['best of three; the machine is shared, so compare the ratios, not the milliseconds'],
      };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
};
