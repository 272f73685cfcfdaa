import { createRedactor } from '../src/common/redact.js';
import type { Benchmark } from './harness.js';

/** The redactor sits on every line that leaves the process: measure its cost against a plain copy. */
export const redactBenchmark: Benchmark = {
  name: 'redact',
  async run() {
    const redactor = createRedactor(Array.from({ length: 20 }, (_, i) => `secret-value-${i}-${'x'.repeat(i)}`));
    const line = `{"level":30,"time":"2026-01-01T00:00:00Z","msg":"step done","stage":"replicate","rows":123456,"table":"public.orders"}\n`;
    const n = 200_000;
    const time = (fn: (s: string) => string): number => {
      const start = process.hrtime.bigint();
      let total = 0;
      for (let i = 0; i < n; i++) total += fn(line).length;
      if (total === 0) throw new Error('unreachable');
      return Number(process.hrtime.bigint() - start) / 1e6;
    };
    const baselineMs = time((s) => s.slice(0));
    const redactMs = time((s) => redactor.redact(s));
    const perLineUs = (redactMs * 1000) / n;
    return {
      benchmark: 'redact',
      baseline: 'copying each log line without redaction',
      measurements: [
        { name: 'baseline', value: baselineMs, unit: 'ms per 200k lines' },
        { name: 'redact', value: redactMs, unit: 'ms per 200k lines' },
        { name: 'redact-per-line', value: perLineUs, unit: 'µs' },
      ],
      ratios: { 'redact/baseline time': redactMs / Math.max(baselineMs, 0.001) },
      targets: [{ name: 'per-line cost', target: 'under 20 µs per log line with 20 secrets', met: perLineUs < 20 }],
    };
  },
};
