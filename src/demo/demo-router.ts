/**
 * The demo's router: `handoff router` as a child process (the same program that runs the demo,
 * from dist or from source), its admin token in a 0600 file, its output in a log file, its PID in
 * the process registry. Ready when its admin API answers with the token.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { setChildPriority, type ProcessRegistry } from '../common/children.js';
import { AdapterError, TimeoutError } from '../common/errors.js';
import { sleep } from '../common/net.js';
import type { Redactor } from '../common/redact.js';

export interface DemoRouterOptions {
  listenPort: number;
  adminPort: number;
  sourceUrl: string;
  targetUrl: string;
  tokenFile: string;
  logFile: string;
  registry: ProcessRegistry;
  redactor: Redactor;
  /** Bound on start-up. Default 30 s. */
  startTimeoutMs?: number;
  /** Its CPU priority (a nice value, as a local workload's `priority`); absent: this process's. */
  priority?: number;
}

export interface DemoRouter {
  readonly pid: number;
  readonly proxyUrl: string;
  readonly adminUrl: string;
  /** Why `priority` was not set (null when it was, or none was asked for). */
  readonly priorityRefused: string | null;
  stop(): Promise<void>;
}

/** How to run this same program again with other arguments (works from dist and from tsx). */
export function selfCommand(): { command: string; args: string[] } {
  const entry = process.argv[1];
  if (!entry) throw new AdapterError('cannot tell which program is running (process.argv[1] is empty)');
  return { command: process.execPath, args: [...process.execArgv, entry] };
}

export async function startDemoRouter(options: DemoRouterOptions): Promise<DemoRouter> {
  const token = randomBytes(24).toString('base64url');
  options.redactor.add(token);
  fs.writeFileSync(options.tokenFile, `${token}\n`, { mode: 0o600 });
  const self = selfCommand();
  const args = [
    ...self.args,
    'router',
    '--listen',
    `127.0.0.1:${options.listenPort}`,
    '--admin',
    `127.0.0.1:${options.adminPort}`,
    '--site',
    `source=${options.sourceUrl}`,
    '--site',
    `target=${options.targetUrl}`,
    '--admin-token-file',
    options.tokenFile,
    '--sticky-after-write',
    '2s',
    '--max-read-lag',
    '1s',
  ];
  const log = fs.openSync(options.logFile, 'a', 0o600);
  const child = spawn(self.command, args, {
    stdio: ['ignore', log, log],
    env: { ...process.env, HANDOFF_ROUTER_TOKEN: '' },
  });
  fs.closeSync(log);
  const pid = await new Promise<number>((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid as number));
    child.once('error', (error) => reject(new AdapterError(`cannot start the router: ${error.message}`)));
  });
  const priorityRefused = options.priority === undefined ? null : setChildPriority(pid, options.priority);
  options.registry.track(pid, { name: 'router', port: options.listenPort, stopSignal: 'SIGTERM' });
  let exited: number | null = null;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      exited = code ?? -1;
      resolve();
    }),
  );
  const adminUrl = `http://127.0.0.1:${options.adminPort}`;
  const stop = async (): Promise<void> => {
    if (exited === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 12_000);
      await exit;
      clearTimeout(timer);
    }
    options.registry.untrack(pid);
  };
  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  for (;;) {
    if (exited !== null) {
      await stop();
      const tail = fs.readFileSync(options.logFile, 'utf8').split('\n').slice(-10).join('\n');
      throw new AdapterError(
        `the router exited with code ${exited} during start-up; its log (${options.logFile}):\n${options.redactor.redact(tail)}`,
      );
    }
    try {
      const response = await fetch(`${adminUrl}/v1/state`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(2000),
      });
      await response.arrayBuffer();
      if (response.ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) {
      await stop();
      throw new TimeoutError(
        `the router did not answer on ${adminUrl} within ${options.startTimeoutMs ?? 30_000} ms; see ${options.logFile}`,
      );
    }
    await sleep(100);
  }
  return { pid, proxyUrl: `http://127.0.0.1:${options.listenPort}`, adminUrl, priorityRefused, stop };
}
