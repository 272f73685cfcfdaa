/**
 * Crash-test driver: runs a data plane's steps like the executor does (intent before, done after,
 * replay unfinished steps on restart), keeping its journal and state in files, and SIGKILLs itself
 * at one step boundary. Boundary 2i is after step i's intent, 2i+1 after its action (before done).
 *
 * env: SRC, TGT (URLs), DIR (journal and state), RUN_ID, DB (database, `shop` by default), MODE
 * (`forward`: replicate, cutover, finalize; `failback`: replicate, cutover, failback, finalize, with
 * boundaries counted from the first failback step; `undo`: replicate, then its undo in reverse),
 * CRASH_AT (boundary number, or -1).
 */
import fs from 'node:fs';
import path from 'node:path';
import { createPostgresDataPlane } from '../../src/data/postgres/data-plane.js';
import { cutoverInOrder, type Step } from '../../src/data/data-plane.js';
import { makeHarness, testPlan } from './step-harness.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`crash-driver: ${name} is not set`);
  return value;
};

async function main(): Promise<void> {
  const dir = env('DIR');
  const journal = path.join(dir, 'journal');
  const crashAt = Number(env('CRASH_AT'));
  const { ctx } = makeHarness({
    runId: env('RUN_ID'),
    database: process.env.DB ?? 'shop',
    sourceUrl: env('SRC'),
    targetUrl: env('TGT'),
    stateFile: path.join(dir, 'state.json'),
  });
  const plane = createPostgresDataPlane({ copyTimeoutMs: 60_000, markerTimeoutMs: 20_000 });
  const entry = testPlan(process.env.DB ?? 'shop').spec.data[0]!;
  const replicate = plane.replicationSteps(entry);
  const work: Array<{ key: string; act: () => Promise<unknown> }> = replicate.map((s) => ({
    key: s.name,
    act: () => s.run(ctx),
  }));
  let first = 0; // boundaries are counted from this step
  if (env('MODE') === 'forward') {
    for (const s of [...cutoverInOrder(plane.cutoverSteps(entry)), ...plane.finalizeSteps(entry)])
      work.push({ key: s.name, act: () => s.run(ctx) });
  } else if (env('MODE') === 'failback') {
    for (const s of cutoverInOrder(plane.cutoverSteps(entry)))
      work.push({ key: `cutover ${s.name}`, act: () => s.run(ctx) });
    first = work.length;
    for (const s of [...plane.failbackSteps(entry), ...plane.finalizeSteps(entry)])
      work.push({ key: `late ${s.name}`, act: () => s.run(ctx) });
  } else {
    for (const s of [...replicate]
      .reverse()
      .filter((x): x is Step & { undo: NonNullable<Step['undo']> } => x.undo !== undefined)) {
      work.push({ key: `undo ${s.name}`, act: () => s.undo(ctx) });
    }
  }
  const done = new Set(
    fs.existsSync(journal)
      ? fs
          .readFileSync(journal, 'utf8')
          .split('\n')
          .filter((l) => l.startsWith('done '))
          .map((l) => l.slice(5))
      : [],
  );
  const record = (line: string): void => {
    const fd = fs.openSync(journal, 'a');
    fs.writeSync(fd, `${line}\n`);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
  };
  for (const [index, item] of work.entries()) {
    if (done.has(item.key)) continue;
    record(`intent ${item.key}`);
    const boundary = index >= first ? 2 * (index - first) : -2;
    if (crashAt === boundary) process.kill(process.pid, 'SIGKILL');
    await item.act();
    if (crashAt === boundary + 1 && boundary >= 0) process.kill(process.pid, 'SIGKILL');
    record(`done ${item.key}`);
  }
  process.stdout.write(`finished ${work.length}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`crash-driver failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
