import type { Benchmark } from './harness.js';
import { redactBenchmark } from './redact.bench.js';
import { auditBenchmark } from './audit.bench.js';
import { routerBenchmark } from './router.bench.js';
import { routerShadowBenchmark } from './router-shadow.bench.js';
import { gatesBenchmark } from './gates.bench.js';
import { verifyBenchmark } from './verify.bench.js';
import { planBenchmark } from './plan.bench.js';
import { engineBenchmark } from './engine.bench.js';
import { kubernetesBenchmark } from './kubernetes.bench.js';
import { statusBenchmark } from './status.bench.js';
import { scaleBenchmark } from './scale.bench.js';
import { dirtyBenchmark } from './dirty.bench.js';

/** Every benchmark `npm run bench` knows. Later issues add theirs here. */
export const benchmarks: Benchmark[] = [
  redactBenchmark,
  auditBenchmark,
  routerBenchmark,
  routerShadowBenchmark,
  verifyBenchmark,
  dirtyBenchmark,
  gatesBenchmark,
  planBenchmark,
  engineBenchmark,
  kubernetesBenchmark,
  statusBenchmark,
  scaleBenchmark,
];
