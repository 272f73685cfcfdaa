import { spawn } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './cli.js';

const child = path.join(repoRoot, 'test', 'support', 'engine-child.ts');

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The parsed `RESULT` or `ERROR` line, if the child got that far. */
  result: Record<string, unknown> | null;
  error: Record<string, unknown> | null;
  boundaries: string[];
}

export interface ChildOptions {
  env: Record<string, string>;
  /** SIGKILL the child as soon as it prints `BLOCKED n`. */
  killWhenBlocked?: boolean;
  /** Called with each stdout line as it arrives. */
  onLine?: (line: string) => void;
  timeoutMs?: number;
}

/** Runs test/support/engine-child.ts in its own process (see that file for its settings). */
export function runEngineChild(options: ChildOptions): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child], {
      cwd: repoRoot,
      env: { ...process.env, NODE_OPTIONS: '', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let pending = '';
    proc.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const text of lines) {
        options.onLine?.(text);
        if (options.killWhenBlocked && text.startsWith('BLOCKED ')) proc.kill('SIGKILL');
      }
    });
    proc.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    proc.on('error', reject);
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      const lines = stdout.split('\n');
      const pick = (prefix: string): Record<string, unknown> | null => {
        const found = lines.find((item) => item.startsWith(prefix));
        return found ? (JSON.parse(found.slice(prefix.length)) as Record<string, unknown>) : null;
      };
      resolve({
        code,
        signal,
        stdout,
        stderr,
        result: pick('RESULT '),
        error: pick('ERROR '),
        boundaries: lines
          .filter((item) => item.startsWith('BOUNDARY '))
          .map((item) => item.split(' ').slice(2).join(' ')),
      });
    });
  });
}
