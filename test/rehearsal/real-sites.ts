/**
 * The demo's two real sites for tests that run the real `handoff` executor as a child process:
 * src/rehearsal/sites.ts (the rehearsal's own machinery), started with `handoff` from source as the
 * program the router is started from (`<self> router`) and the service run from source.
 */
import path from 'node:path';
import { startRehearsalSites, type RehearsalSites } from '../../src/rehearsal/sites.js';
import { repoRoot, tsxLoader } from '../support/cli.js';

export { ACCOUNTS } from '../../src/rehearsal/sites.js';
export type RealSites = RehearsalSites;

/** Runs `fn` with process.argv[1] and execArgv as `handoff` from source has them (the router is started as `<self> router`). */
export async function asHandoff<T>(fn: () => Promise<T>): Promise<T> {
  const argv1 = process.argv[1];
  const execArgv = [...process.execArgv];
  process.argv[1] = path.join(repoRoot, 'src', 'cli', 'entry.ts');
  process.execArgv.splice(0, process.execArgv.length, '--import', tsxLoader);
  try {
    return await fn();
  } finally {
    if (argv1 !== undefined) process.argv[1] = argv1;
    process.execArgv.splice(0, process.execArgv.length, ...execArgv);
  }
}

export const serviceFromSource = {
  command: process.execPath,
  args: ['--import', tsxLoader, path.join(repoRoot, 'src', 'demo', 'service', 'main.ts')],
};

export function startRealSites(dir: string, options: { rows: number; bakeMs: number }): Promise<RealSites> {
  return asHandoff(() => startRehearsalSites(dir, { ...options, service: serviceFromSource }));
}
