/**
 * `npm run bench [-- NAME ...]`: runs the benchmarks (all, or those named), writes each result
 * to bench/results/NAME.json, and prints a summary. Benchmarks register in bench/index.ts.
 */
import { benchmarks } from './index.js';
import { watchMachine, writeResult } from './harness.js';

const wanted = process.argv.slice(2);
const selected = wanted.length === 0 ? benchmarks : benchmarks.filter((b) => wanted.includes(b.name));
if (selected.length === 0) {
  console.error(`no benchmark named ${wanted.join(', ')}; known: ${benchmarks.map((b) => b.name).join(', ')}`);
  process.exit(2);
}
let missed = 0;
let failed = 0;
for (const benchmark of selected) {
  console.error(`bench: ${benchmark.name} ...`);
  // The machine's speed and the host's share around the benchmark: figures from other runs compare only beside them.
  const machine = watchMachine();
  let result: Awaited<ReturnType<typeof benchmark.run>>;
  try {
    result = await benchmark.run();
  } catch (error) {
    // One benchmark that cannot run (a missing baseline program) does not stop the others.
    machine.finish();
    console.error(`bench: ${benchmark.name} failed: ${error instanceof Error ? error.message : String(error)}`);
    failed++;
    continue;
  }
  const conditions = machine.finish();
  const file = writeResult(result, conditions);
  console.log(
    `${benchmark.name}: machine: calibration ${conditions.calibrationMs.before} ms before, ${conditions.calibrationMs.after} ms after; ` +
      `stolen by the host ${conditions.stealShare === null ? 'unknown' : `${(conditions.stealShare * 100).toFixed(1)} %`}`,
  );
  for (const [name, ratio] of Object.entries(result.ratios))
    console.log(`${benchmark.name}: ${name} = ${ratio.toFixed(3)}`);
  for (const target of result.targets) {
    console.log(`${benchmark.name}: target ${target.name} (${target.target}): ${target.met ? 'met' : 'MISSED'}`);
    if (!target.met) missed++;
  }
  console.error(`bench: wrote ${file}`);
}
if (missed > 0) console.log(`${missed} target(s) missed`);
if (failed > 0) {
  console.error(`${failed} benchmark(s) failed to run`);
  process.exitCode = 1;
}
