import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createHistoryFile, readHistory } from './history.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});
const tmp = (): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'handoff-history-'));
  dirs.push(dir);
  return dir;
};

describe('history file', () => {
  it('streams operations as JSON lines (mode 0600) and reads them back', () => {
    const file = path.join(tmp(), 'history.jsonl');
    const history = createHistoryFile(file);
    for (let i = 0; i < 5000; i++) {
      history.record({
        type: 'invoke',
        f: 'order',
        process: 'c1',
        op: i,
        time: 1000 + i,
        value: { requestId: `r${i}` },
      });
      history.record({ type: 'ok', f: 'order', process: 'c1', op: i, time: 1001 + i, value: { id: String(i) } });
    }
    // Past the buffer's bound, most of it is already on disk before close.
    expect(fs.statSync(file).size).toBeGreaterThan(0);
    history.close();
    history.close();
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const ops = readHistory(file);
    expect(ops).toHaveLength(10_000);
    expect(history.count).toBe(10_000);
    expect(ops[9999]).toEqual({ type: 'ok', f: 'order', process: 'c1', op: 4999, time: 6000, value: { id: '4999' } });
  });

  it('names the file, line and field of a malformed operation', () => {
    const file = path.join(tmp(), 'history.jsonl');
    fs.writeFileSync(
      file,
      `${JSON.stringify({ type: 'invoke', f: 'order', process: 'c', op: 1, time: 1, value: {} })}\n{"type":"done","f":"order","process":"c","op":1,"time":2,"value":{}}\n`,
    );
    expect(() => readHistory(file)).toThrow(/history\.jsonl:2: type: /);
    fs.writeFileSync(file, 'not json\n');
    expect(() => readHistory(file)).toThrow(/history\.jsonl:1: not a JSON line/);
  });
});
