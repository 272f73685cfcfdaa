import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { TimeoutError } from '../../src/common/errors.js';
import { createRedactor } from '../../src/common/redact.js';
import { openAuditTrail } from '../../src/audit/trail.js';
import { verifyAuditTrail } from '../../src/audit/verify.js';
import { makeTempDir } from '../support/tmp.js';
import { checkpointsPath, parseRecord, readLinesOf, trailPath } from './fixtures.js';

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), 'append-child.ts');
const children: ChildProcessWithoutNullStreams[] = [];
const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const process of children.splice(0)) if (process.exitCode === null) process.kill('SIGKILL');
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function stateDir(): string {
  const temp = makeTempDir('handoff-audit-conc-');
  cleanups.push(temp.cleanup);
  return temp.dir;
}

function start(args: string[]): {
  process: ChildProcessWithoutNullStreams;
  output: Promise<{ code: number | null; stdout: string; stderr: string }>;
  says: (text: string) => Promise<void>;
} {
  const proc = spawn(process.execPath, ['--import', 'tsx', child, ...args], {
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  children.push(proc);
  let stdout = '';
  let stderr = '';
  const waiters: Array<() => void> = [];
  proc.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const waiter of waiters) waiter();
  });
  proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const output = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    proc.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  const says = (text: string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`child did not say "${text}" within 30 s: ${stderr}`)), 30_000);
      const check = () => {
        if (stdout.includes(text)) {
          clearTimeout(timer);
          resolve();
        }
      };
      waiters.push(check);
      check();
    });
  return { process: proc, output, says };
}

describe('appending from several processes', () => {
  it('two processes appending at once produce one valid chain with every record once', async () => {
    const dir = stateDir();
    const perChild = 150;
    const one = start(['append', dir, 'one', String(perChild)]);
    const two = start(['append', dir, 'two', String(perChild)]);
    await Promise.all([one.says('ready'), two.says('ready')]);
    // Both start at the same instant, a moment from now (not each when it reads its line).
    const at = Date.now() + 300;
    for (const writer of [one, two]) writer.process.stdin.write(`go ${at}\n`);
    const results = await Promise.all([one.output, two.output]);
    for (const result of results) expect(result).toMatchObject({ code: 0, stdout: 'ready\ndone\n' });
    const verdict = verifyAuditTrail(dir);
    expect(verdict).toMatchObject({
      valid: true,
      records: 2 * perChild,
      checkpoints: 1 + 2 * (perChild / 25),
      reason: null,
    }); // one "trail opened", whichever child came first
    const records = readLinesOf(trailPath(dir)).map(parseRecord);
    expect(records.map((record) => record.seq)).toEqual(Array.from({ length: 2 * perChild }, (_, index) => index + 1));
    for (const name of ['one', 'two']) {
      const mine = records.filter((record) => record.actor === name).map((record) => record.details.index);
      expect(mine).toEqual(Array.from({ length: perChild }, (_, index) => index + 1));
    }
    // The two writers really interleaved (otherwise this test would not test the lock).
    const switches = records.filter((record, index) => index > 0 && record.actor !== records[index - 1]?.actor).length;
    expect(switches).toBeGreaterThan(1);
    expect(readLinesOf(checkpointsPath(dir))).toHaveLength(1 + 2 * (perChild / 25));
  });

  it('a writer SIGKILLed in the middle of appending leaves a trail that verifies or shows a partial line, and the next append goes on', async () => {
    const dir = stateDir();
    const writer = start(['append', dir, 'victim', '1000000']);
    await writer.says('ready');
    writer.process.stdin.write('go\n');
    const deadline = Date.now() + 30_000;
    while (fs.statSync(trailPath(dir)).size < 20_000 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    writer.process.kill('SIGKILL');
    await writer.output;
    const afterKill = verifyAuditTrail(dir);
    expect(afterKill.records).toBeGreaterThan(10);
    if (!afterKill.valid) expect(afterKill.reason).toMatch(/partial last line/);
    const trail = openAuditTrail({
      stateDir: dir,
      keyDir: path.join(dir, 'test-keys'),
      redactor: createRedactor(),
      lockTimeoutMs: 20_000,
    });
    const record = trail.append({ actor: 'engine', action: 'resumed', subject: 's', details: {} });
    trail.checkpoint('after the crash');
    const verdict = verifyAuditTrail(dir);
    expect(verdict).toMatchObject({ valid: true, reason: null });
    expect(verdict.head).toEqual({ seq: record.seq, hash: record.hash });
  });

  it('recovers the lock of a process killed while holding it', async () => {
    const dir = stateDir();
    const trail = openAuditTrail({
      stateDir: dir,
      keyDir: path.join(dir, 'test-keys'),
      redactor: createRedactor(),
      lockTimeoutMs: 20_000,
    });
    trail.append({ actor: 'engine', action: 'a', subject: 's', details: {} });
    const holder = start(['hold', path.join(dir, 'audit', 'trail.lock')]);
    await holder.says('locked');
    holder.process.kill('SIGKILL');
    await holder.output;
    expect(fs.existsSync(path.join(dir, 'audit', 'trail.lock'))).toBe(true);
    const record = trail.append({ actor: 'engine', action: 'b', subject: 's', details: {} });
    expect(record.seq).toBe(2);
    expect(fs.existsSync(path.join(dir, 'audit', 'trail.lock'))).toBe(false);
    expect(verifyAuditTrail(dir).valid).toBe(true);
  });

  it('waits a bounded time for a live holder, then fails naming it, having written nothing', async () => {
    const dir = stateDir();
    const trail = openAuditTrail({
      stateDir: dir,
      keyDir: path.join(dir, 'test-keys'),
      redactor: createRedactor(),
      lockTimeoutMs: 300,
    });
    const holder = start(['hold', path.join(dir, 'audit', 'trail.lock')]);
    await holder.says('locked');
    let error: unknown;
    try {
      trail.append({ actor: 'engine', action: 'a', subject: 's', details: {} });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(TimeoutError);
    expect(String((error as Error).message)).toContain(`process ${holder.process.pid}`);
    expect(fs.readFileSync(trailPath(dir), 'utf8')).toBe('');
    holder.process.kill('SIGKILL');
    await holder.output;
    expect(trail.append({ actor: 'engine', action: 'a', subject: 's', details: {} }).seq).toBe(1);
  });
});
