import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const entry = path.join(repoRoot, 'src', 'cli', 'entry.ts');
/** tsx by absolute URL: `--import tsx` would resolve from the child's working directory. */
export const tsxLoader = pathToFileURL(path.join(repoRoot, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  elapsedMs: number;
}

export interface RunCliOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  input?: string;
  /** Bound on the whole command; the child is SIGKILLed after it. */
  timeoutMs?: number;
}

/** Runs `handoff ARGS` from source in a child process (as a user would run the installed binary). */
export function runCli(args: string[], options: RunCliOptions = {}): Promise<CliResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', tsxLoader, entry, ...args], {
      cwd: options.cwd ?? repoRoot,
      env: { ...process.env, ...options.env, NODE_OPTIONS: '' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, elapsedMs: Date.now() - started });
    });
    child.stdin.end(options.input ?? '');
  });
}

/**
 * Runs `handoff ARGS` in this process (the real argument parsing, output and exit codes, without
 * a child's start-up): for the many quick cases. The CLI is loaded on first use only.
 */
export async function runCliInProcess(
  args: string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<CliResult> {
  const { main } = await import('../../src/cli/main.js');
  const started = Date.now();
  let stdout = '';
  let stderr = '';
  const code = await main(args, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    env: { ...process.env, ...options.env },
    cwd: options.cwd,
    isTTY: false,
  });
  return { code, signal: null, stdout, stderr, elapsedMs: Date.now() - started };
}
